// @platformatic/kafka transactions, for test_txn_kafkajs.py.
//
//   node txn-platformatic.mjs BOOTSTRAP TOPIC GROUP
//
// TOPIC exists with two partitions. One transactional producer runs three
// transactions (commit, abort, commit), each sending records to both
// partitions. One abort only: @platformatic/kafka 1.35 keeps one aborted
// transaction per producer id from a fetch answer (the last listed), so the
// records of a second one would show under READ_COMMITTED, from Kafka 3.9 too. Then a consumer of group GROUP with isolation level
// READ_COMMITTED and one (another group) with READ_UNCOMMITTED read TOPIC from
// the earliest offset until they have as many records as they could read, and
// a little longer, to catch an extra one. Then the GROUP consumer's last
// record of each partition is added to a transaction (addConsumer, addOffset)
// that aborts, then to one that commits; GROUP's committed offsets are read
// after each. Prints one JSON line: {ok, error, committed, aborted,
// readCommitted, readUncommitted, offsets: {afterAbort, afterCommit}, lastRead}.
// Every wait is bounded.

import {
  Admin, Consumer, FetchIsolationLevels, Producer, stringDeserializers, stringSerializers
} from '@platformatic/kafka'

const TRANSACTIONS = ['commit', 'abort', 'commit']
const PER_PARTITION = 4
const READ_TIMEOUT_MS = 20000
const SETTLE_MS = 1500

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function produce (bootstrapBrokers, topic) {
  const producer = new Producer({
    clientId: 'platformatic-txn', bootstrapBrokers, idempotent: true,
    transactionalId: 'pkt-txn', serializers: stringSerializers, retries: 8
  })
  const committed = []
  const aborted = []
  try {
    for (let n = 0; n < TRANSACTIONS.length; n++) {
      const outcome = TRANSACTIONS[n]
      const messages = []
      for (let i = 0; i < 2 * PER_PARTITION; i++) {
        messages.push({ topic, partition: i % 2, key: `k${i}`, value: `p-${outcome}-${n}-${i}` })
      }
      const txn = await producer.beginTransaction()
      await txn.send({ messages })
      if (outcome === 'commit') await txn.commit()
      else await txn.abort()
      ;(outcome === 'commit' ? committed : aborted).push(...messages.map(m => m.value))
    }
  } finally {
    await producer.close()
  }
  return { committed, aborted }
}

// A consumer reading from the earliest offset: its records (every message
// kept) until `want` and SETTLE_MS more, or READ_TIMEOUT_MS. The stream is
// left open.
async function readAll (consumer, topic, isolationLevel, want) {
  const stream = await consumer.consume({
    topics: [topic], mode: 'earliest', autocommit: false, isolationLevel, maxWaitTime: 200
  })
  const got = []
  stream.on('data', message => got.push(message))
  const deadline = Date.now() + READ_TIMEOUT_MS
  while (got.length < want && Date.now() < deadline) await sleep(100)
  await sleep(SETTLE_MS)
  return { stream, got }
}

async function groupOffsets (admin, groupId, topic) {
  const res = await admin.listConsumerGroupOffsets({ groups: [groupId], requireStable: true })
  const out = {}
  for (const g of res) {
    for (const t of g.topics) {
      if (t.name !== topic) continue
      for (const p of t.partitions) out[p.partitionIndex] = Number(p.committedOffset)
    }
  }
  return out
}

async function offsetsWhen (admin, groupId, topic, want, waitMs) {
  const deadline = Date.now() + waitMs
  let got = await groupOffsets(admin, groupId, topic)
  while (JSON.stringify(got) !== JSON.stringify(want) && Date.now() < deadline) {
    await sleep(100)
    got = await groupOffsets(admin, groupId, topic)
  }
  return got
}

// The last record read from each partition, in a transaction with `outcome`.
async function offsetsIn (producer, consumer, last, outcome) {
  const txn = await producer.beginTransaction()
  await txn.addConsumer(consumer)
  for (const message of last) await txn.addOffset(message)
  if (outcome === 'commit') await txn.commit()
  else await txn.abort()
}

async function main () {
  const [bootstrap, topic, groupId] = process.argv.slice(2)
  const bootstrapBrokers = bootstrap.split(',')
  const line = { ok: false, error: null }
  const closers = []
  try {
    const { committed, aborted } = await produce(bootstrapBrokers, topic)
    line.committed = committed
    line.aborted = aborted
    const rcConsumer = new Consumer({
      clientId: 'platformatic-rc', groupId, bootstrapBrokers, deserializers: stringDeserializers
    })
    closers.push(() => rcConsumer.close(true))
    const rc = await readAll(rcConsumer, topic, FetchIsolationLevels.READ_COMMITTED,
      committed.length)
    line.readCommitted = rc.got.map(m => ({ partition: m.partition, offset: Number(m.offset), value: m.value }))
    const ruConsumer = new Consumer({
      clientId: 'platformatic-ru', groupId: `${groupId}-ru`, bootstrapBrokers,
      deserializers: stringDeserializers
    })
    closers.push(() => ruConsumer.close(true))
    const ru = await readAll(ruConsumer, topic, FetchIsolationLevels.READ_UNCOMMITTED,
      committed.length + aborted.length)
    line.readUncommitted = ru.got.map(m => ({ partition: m.partition, offset: Number(m.offset), value: m.value }))

    const last = new Map()
    for (const m of rc.got) last.set(m.partition, m)
    line.lastRead = Object.fromEntries([...last].map(([p, m]) => [p, Number(m.offset)]))
    const producer = new Producer({
      clientId: 'platformatic-offsets', bootstrapBrokers, idempotent: true,
      transactionalId: 'pkt-offsets', serializers: stringSerializers, retries: 8
    })
    closers.push(() => producer.close())
    const admin = new Admin({ clientId: 'platformatic-admin', bootstrapBrokers })
    closers.push(() => admin.close())
    const want = Object.fromEntries([...last].map(([p, m]) => [p, Number(m.offset) + 1]))
    await offsetsIn(producer, rcConsumer, [...last.values()], 'abort')
    const afterAbort = await offsetsWhen(admin, groupId, topic, want, 1500)
    await offsetsIn(producer, rcConsumer, [...last.values()], 'commit')
    const afterCommit = await offsetsWhen(admin, groupId, topic, want, 10000)
    line.offsets = { afterAbort, afterCommit }
    line.ok = true
  } catch (e) {
    line.error = String(e && e.stack ? e.stack : e)
  }
  for (const close of closers.reverse()) {
    try { await close() } catch (e) { /* the answer is already in `line` */ }
  }
  process.stdout.write(JSON.stringify(line) + '\n')
  process.exit(line.ok ? 0 : 1)
}

main().catch(e => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n')
  process.exit(2)
})
