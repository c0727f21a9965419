'use strict'
// kafkajs transactions, for test_txn_kafkajs.py.
//
//   node txn.js BOOTSTRAP TOPIC GROUP
//
// TOPIC exists with two partitions. One transactional producer runs five
// transactions (commit, abort, commit, abort, commit), each sending records
// to both partitions. Then a consumer with readUncommitted:false and one with
// readUncommitted:true read TOPIC from the beginning (each its own group)
// until they have as many records as they could read, and a little longer,
// to catch an extra one. Then sendOffsets: offsets for GROUP sent in an
// aborted transaction, then in a committed one, then in an aborted one again,
// GROUP's committed offsets (admin.fetchOffsets) read after each.
// Prints one JSON line: {ok, error, committed, aborted, readCommitted,
// readUncommitted, offsets: {afterAbort, afterCommit, afterSecondAbort}}.
// Every wait is bounded.

const { Kafka, logLevel } = require('kafkajs')

const TRANSACTIONS = ['commit', 'abort', 'commit', 'abort', 'commit']
const PER_PARTITION = 4
const READ_TIMEOUT_MS = 20000
const SETTLE_MS = 1500

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function produce (kafka, topic) {
  const producer = kafka.producer({
    transactionalId: 'kjs-txn', maxInFlightRequests: 1, idempotent: true
  })
  await producer.connect()
  const committed = []
  const aborted = []
  try {
    for (let n = 0; n < TRANSACTIONS.length; n++) {
      const outcome = TRANSACTIONS[n]
      const values = []
      const messages = []
      for (let i = 0; i < 2 * PER_PARTITION; i++) {
        const value = `${outcome}-${n}-${i}`
        values.push(value)
        messages.push({ partition: i % 2, key: `k${i}`, value })
      }
      const txn = await producer.transaction()
      try {
        await txn.send({ topic, messages })
      } catch (e) {
        await txn.abort()
        throw e
      }
      if (outcome === 'commit') {
        await txn.commit()
        committed.push(...values)
      } else {
        await txn.abort()
        aborted.push(...values)
      }
    }
  } finally {
    await producer.disconnect()
  }
  return { committed, aborted }
}

// Every value a consumer reads from the beginning: until `want` records and
// SETTLE_MS more, or READ_TIMEOUT_MS.
async function readAll (kafka, topic, groupId, readUncommitted, want) {
  const consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 200 })
  await consumer.connect()
  const got = []
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.push({ partition, offset: message.offset, value: message.value.toString() })
      }
    })
    const deadline = Date.now() + READ_TIMEOUT_MS
    while (got.length < want && Date.now() < deadline) await sleep(100)
    await sleep(SETTLE_MS)
  } finally {
    await consumer.disconnect()
  }
  return got
}

async function groupOffsets (admin, groupId, topic) {
  const res = await admin.fetchOffsets({ groupId, topics: [topic] })
  const out = {}
  for (const t of res) {
    for (const p of t.partitions) out[p.partition] = Number(p.offset)
  }
  return out
}

// The group's offsets once they equal `want`, or after `waitMs` whatever they are.
async function offsetsWhen (admin, groupId, topic, want, waitMs) {
  const deadline = Date.now() + waitMs
  let got = await groupOffsets(admin, groupId, topic)
  while (JSON.stringify(got) !== JSON.stringify(want) && Date.now() < deadline) {
    await sleep(100)
    got = await groupOffsets(admin, groupId, topic)
  }
  return got
}

async function sendOffsetsIn (producer, groupId, topic, offset, outcome) {
  const txn = await producer.transaction()
  await txn.sendOffsets({
    consumerGroupId: groupId,
    topics: [{ topic, partitions: [{ partition: 0, offset: String(offset) }, { partition: 1, offset: String(offset + 1) }] }]
  })
  if (outcome === 'commit') await txn.commit()
  else await txn.abort()
}

async function sendOffsets (kafka, topic, groupId) {
  const producer = kafka.producer({
    transactionalId: 'kjs-offsets', maxInFlightRequests: 1, idempotent: true
  })
  const admin = kafka.admin()
  await producer.connect()
  await admin.connect()
  try {
    const none = { 0: -1, 1: -1 }
    await sendOffsetsIn(producer, groupId, topic, 5, 'abort')
    // An aborted transaction's offsets must never show: watch for a while.
    const afterAbort = await offsetsWhen(admin, groupId, topic, { 0: 5, 1: 6 }, 1500)
    await sendOffsetsIn(producer, groupId, topic, 7, 'commit')
    const afterCommit = await offsetsWhen(admin, groupId, topic, { 0: 7, 1: 8 }, 10000)
    await sendOffsetsIn(producer, groupId, topic, 9, 'abort')
    const afterSecondAbort = await offsetsWhen(admin, groupId, topic, { 0: 9, 1: 10 }, 1500)
    return { none, afterAbort, afterCommit, afterSecondAbort }
  } finally {
    await admin.disconnect()
    await producer.disconnect()
  }
}

async function main () {
  const [bootstrap, topic, groupId] = process.argv.slice(2)
  const kafka = new Kafka({
    clientId: 'kafkajs-txn',
    brokers: bootstrap.split(','),
    logLevel: logLevel.ERROR,
    retry: { retries: 8 }
  })
  const line = { ok: false, error: null }
  try {
    const { committed, aborted } = await produce(kafka, topic)
    line.committed = committed
    line.aborted = aborted
    line.readCommitted = await readAll(kafka, topic, `${groupId}-rc`, false, committed.length)
    line.readUncommitted = await readAll(kafka, topic, `${groupId}-ru`, true,
      committed.length + aborted.length)
    line.offsets = await sendOffsets(kafka, topic, groupId)
    line.ok = true
  } catch (e) {
    line.error = String(e && e.stack ? e.stack : e)
  }
  process.stdout.write(JSON.stringify(line) + '\n')
  process.exit(line.ok ? 0 : 1)
}

main().catch(e => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n')
  process.exit(2)
})
