declare module 'node-aes-cmac' {
  export function aesCmac(
    key: Buffer,
    message: Buffer | string,
    options?: { returnAsBuffer?: boolean },
  ): Buffer | string
}
