/**
 * Hardware of a box, real or simulated by config (`hardware.mode`): GPIO LEDs and buzzer for the merchant's
 * signals, the camera feeding the QR loop, the BLE payment channel. Bindings are created here and handed to
 * the node; nothing else in the node knows which kind it got.
 */
import type { SignalPort } from '../accept/ports.js'
import { type BleBinding, BlenoBleBinding, SimBleBinding } from '../bindings/ble/index.js'
import { type Camera, QrScanner, RaspistillCamera } from '../bindings/camera/index.js'
import {
  type Gpio,
  OnoffGpio,
  SimGpio,
  signalAccepted,
  signalOnline,
  signalRejected,
} from '../bindings/gpio/index.js'
import { type Modem, SerialModem, SimModem } from '../bindings/modem/index.js'
import type { NodeConfig } from '../config/schema.js'

export interface Hardware {
  gpio: Gpio
  camera?: Camera
  scanner?: QrScanner
  ble?: BleBinding
  modem: Modem
  /** LEDs and buzzer as the acceptor's signal port. */
  signal: SignalPort
  /** Mirror the link state on the online LED. */
  online(online: boolean): void
}

/** Build (not start) the bindings the config asks for. */
export function createHardware(config: NodeConfig, onError: (err: unknown) => void): Hardware {
  const sim = config.hardware.mode === 'sim'
  const { pins } = config.hardware
  const gpio: Gpio = sim
    ? new SimGpio({ onError })
    : new OnoffGpio({
        pins: {
          ledOnline: pins.ledOnline,
          ledOk: pins.ledOk,
          ledError: pins.ledError,
          buzzer: pins.buzzer,
          ...(pins.button !== undefined ? { button: pins.button } : {}),
          ...(pins.powerFail !== undefined
            ? { powerFail: pins.powerFail, powerFailActiveLow: config.hardware.powerFailActiveLow }
            : {}),
        },
        ...(config.hardware.gpioChip !== undefined ? { chipLabel: config.hardware.gpioChip } : {}),
        onError,
      })
  const hw: Hardware = {
    gpio,
    modem: sim
      ? new SimModem()
      : new SerialModem({ path: config.hardware.modemPath, onError: (e: unknown) => onError(e) }),
    signal: { accepted: () => signalAccepted(gpio), rejected: () => signalRejected(gpio) },
    online: (online) => signalOnline(gpio, online),
  }
  // In simulation QR payments arrive through `opg-node scan IMAGE`: decoding empty simulated frames in a
  // loop would only burn CPU.
  if (config.hardware.cameraEnabled && !sim) {
    hw.camera = new RaspistillCamera({ mode: 'warm' })
    hw.scanner = new QrScanner()
  }
  if (config.hardware.bleEnabled) {
    const options = { deviceTag: config.deviceId.slice(0, 8), onError: (e: Error) => onError(e) }
    hw.ble = sim ? new SimBleBinding(options) : new BlenoBleBinding(options)
  }
  return hw
}
