/**
 * PeerProcess.waitForEvent: an event the child reports after its call has answered (as a command that exits
 * after its radio work is done) is awaited, not sampled; one already received is returned at once; none is an
 * error after the timeout, with the child's output.
 */
import { fileURLToPath } from 'node:url'
import { peerConfig, servePeer, spawnPeer } from '../src/virtual-hci/index.js'

if (peerConfig()?.role === 'reporter') {
  servePeer(
    {
      // Answers at once, reports its outcome later.
      work: (args: { ms: number }, emit) => {
        setTimeout(() => emit('done', { after: args.ms }), args.ms)
        return 'started'
      },
    },
    () => {},
  )
} else {
  const { default: t } = await import('tap')
  const peer = spawnPeer({
    file: fileURLToPath(import.meta.url),
    role: 'reporter',
    radioPath: '/nonexistent',
  })
  t.teardown(() => peer.stop())

  t.test('an event still to come is awaited; one already received is returned at once', async (t) => {
    t.equal(await peer.call('work', { ms: 300 }), 'started')
    t.notOk(
      peer.events.some((e) => e.event === 'done'),
      'not there when the call answers',
    )
    const done = await peer.waitForEvent((e) => e.event === 'done')
    t.same(done, { event: 'done', data: { after: 300 } })
    t.equal(await peer.waitForEvent((e) => e.event === 'done'), done)
  })

  t.test('no matching event is an error after the timeout', async (t) => {
    await t.rejects(
      peer.waitForEvent((e) => e.event === 'never', 200),
      /reporter: no matching event after 200 ms/,
    )
  })
}
