/**
 * Joins an `AtResponder` to a port of serialport's in-memory mock binding, so unit tests run the real AT
 * dialogue with no tty at all.
 */
import type { AtResponder } from './at-responder.js'

/** The two members of @serialport/binding-mock's MockPortBinding this link needs. */
export interface MockPortLike {
  write(buffer: Buffer): Promise<void>
  emitData(data: Buffer | string): void
}

/** Routes the host's writes to the responder and the responder's answers back as received data. */
export function linkMockPort(port: MockPortLike, modem: AtResponder): void {
  const write = port.write.bind(port)
  port.write = async (buffer: Buffer) => {
    await write(buffer)
    modem.input(buffer)
  }
  modem.setOutput((data) => port.emitData(Buffer.from(data, 'latin1')))
}
