/**
 * The modem simulator on a socat pty pair: the program under test opens `devicePath` like a USB modem's
 * /dev/ttyUSB2, and an `AtResponder` answers on the other end through the real serialport native binding.
 */
import { SerialPort } from 'serialport'
import { AtResponder, type AtResponderOptions } from './at-responder.js'
import { openPtyPair, type PtyPair } from './pty-pair.js'

/** A running simulator: the tty to open, the responder with its knobs, and teardown. */
export interface PtyModemSim {
  devicePath: string
  modem: AtResponder
  stop(): Promise<void>
}

/** Starts socat and the responder (`capacity`: SIM slots); `stop()` closes both. */
export async function startPtyModemSim(opts: Omit<AtResponderOptions, 'write'> = {}): Promise<PtyModemSim> {
  const pair: PtyPair = await openPtyPair()
  const port = new SerialPort({ path: pair.simPath, baudRate: 115200, autoOpen: false })
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())))
  } catch (err) {
    await pair.close()
    throw err
  }
  const modem = new AtResponder({ ...opts, write: (data) => port.write(Buffer.from(data, 'latin1')) })
  const onData = (d: Buffer) => modem.input(d)
  // A write racing the teardown can fail; the simulator has nothing useful to do with that.
  const onError = () => {}
  port.on('data', onData)
  port.on('error', onError)
  return {
    devicePath: pair.devicePath,
    modem,
    async stop() {
      modem.stop()
      port.off('data', onData)
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()))
      port.off('error', onError)
      await pair.close()
    },
  }
}
