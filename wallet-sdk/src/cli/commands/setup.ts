/** `opg-wallet create` and `register`: a new encrypted wallet, and its key registered with the bridge. */
import { action, subcommand } from '@opg/protocol/cli'
import type { Command } from 'commander'
import { registerWallet } from '../../core/online.js'
import type { CliFlags } from '../config.js'
import { hex, type WalletCli } from '../context.js'

export function addSetupCommands(program: Command, cli: WalletCli): void {
  subcommand(program, 'create', 'make a wallet (and register it when an operator key is set)', [
    'OPG_WALLET_PASSPHRASE=… opg-wallet create --phone +4915112345678',
  ])
    .option('--phone <e164>', 'register with this phone number (needs an operator key)')
    .action(
      action(async (o: CliFlags & { phone?: string }) => {
        const cfg = cli.config(o)
        const wallet = await cli.open(cfg, 'new')
        let registered = false
        if (o.phone && cfg.operatorKey) {
          await registerWallet(wallet, cli.operator(cfg), { phone: o.phone })
          registered = true
        }
        cli.print(
          cfg,
          `wallet ${wallet.walletId ?? '(not registered)'}\npublic key ${hex(wallet.publicKey)}\nstate in ${cfg.dir}`,
          { walletId: wallet.walletId ?? null, publicKey: hex(wallet.publicKey), dir: cfg.dir, registered },
        )
        return 0
      }),
    )

  subcommand(program, 'register', "register the wallet's key with the bridge (operator key)", [
    'opg-wallet register --phone +4915112345678 --operator-key opg_…',
  ])
    .requiredOption('--phone <e164>', "the customer's phone number (SMS notices)")
    .action(
      action(async (o: CliFlags & { phone: string }) => {
        const cfg = cli.config(o)
        const wallet = await cli.open(cfg)
        await registerWallet(wallet, cli.operator(cfg), { phone: o.phone })
        cli.print(cfg, `registered as wallet ${wallet.walletId}`, { walletId: wallet.walletId })
        return 0
      }),
    )
}
