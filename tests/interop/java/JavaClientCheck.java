// Produces and consumes with the Java client (kafka-clients, idempotent by
// default) and checks every record byte for byte.
//
//   java -cp 'build/interop-java:build/kafka-jars/*' JavaClientCheck \
//       BOOTSTRAP TOPIC_PREFIX PARTITIONS RECORDS CODEC[,CODEC...] REPLICAS
//
// For each codec: create TOPIC_PREFIX-CODEC (REPLICAS replicas per partition)
// with the Admin client, produce
// RECORDS records (record i goes to partition i % PARTITIONS with the key,
// value, headers and CreateTime timestamp of RecordData), then read every
// partition from the beginning with assign() and compare partition, offset,
// key, value, headers (order included) and timestamp with what was sent and
// acknowledged. Prints one line per codec, "PASS codec ..." or
// "FAIL codec: reason", and exits 1 if any codec failed.

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class JavaClientCheck {
    private static final long CONSUME_TIMEOUT_MS = 60_000;
    private static final int MAX_REPORTED = 5;

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println(
                "usage: JavaClientCheck BOOTSTRAP TOPIC_PREFIX PARTITIONS RECORDS CODECS REPLICAS");
            System.exit(2);
        }
        String bootstrap = args[0];
        String prefix = args[1];
        int partitions = Integer.parseInt(args[2]);
        int records = Integer.parseInt(args[3]);
        short replicas = Short.parseShort(args[5]);
        boolean allPassed = true;
        for (String codec : args[4].split(",")) {
            String topic = prefix + "-" + codec;
            String failure;
            try {
                failure = runCodec(bootstrap, topic, partitions, replicas, records, codec);
            } catch (Exception e) {
                failure = "exception " + e;
            }
            if (failure == null) {
                System.out.printf("PASS %s produced=%d consumed=%d%n", codec, records, records);
            } else {
                System.out.printf("FAIL %s: %s%n", codec, failure.replace('\n', ' '));
                allPassed = false;
            }
            System.out.flush();
        }
        System.exit(allPassed ? 0 : 1);
    }

    private static void createTopic(String bootstrap, String topic, int partitions, short replicas)
            throws Exception {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(props)) {
            admin.createTopics(Collections.singleton(new NewTopic(topic, partitions, replicas)))
                .all().get();
        }
    }

    /** Returns null on success, else what went wrong. */
    private static String runCodec(String bootstrap, String topic, int partitions, short replicas,
                                   int records, String codec) throws Exception {
        createTopic(bootstrap, topic, partitions, replicas);
        RecordMetadata[] acked = produce(bootstrap, topic, partitions, records, codec);
        for (int i = 0; i < records; i++) {
            if (acked[i].partition() != i % partitions) {
                return "record " + i + " acknowledged on partition " + acked[i].partition();
            }
        }
        long[] next = new long[partitions];
        for (int i = 0; i < records; i++) {
            int p = i % partitions;
            if (acked[i].offset() != next[p]) {
                return "record " + i + " acknowledged at offset " + acked[i].offset()
                    + ", expected " + next[p];
            }
            next[p]++;
        }
        return consumeAndCompare(bootstrap, topic, partitions, records, acked);
    }

    private static RecordMetadata[] produce(String bootstrap, String topic, int partitions,
                                            int records, String codec) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "java-client-check");
        // enable.idempotence and acks=all are the defaults; say so to be sure.
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        List<Future<RecordMetadata>> futures = new ArrayList<>(records);
        try (KafkaProducer<byte[], byte[]> producer =
                 new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < records; i++) {
                ProducerRecord<byte[], byte[]> rec = new ProducerRecord<>(
                    topic, i % partitions, RecordData.timestamp(i), RecordData.key(i),
                    RecordData.value(i), toHeaders(RecordData.headers(i)));
                futures.add(producer.send(rec));
            }
            producer.flush();
        }
        RecordMetadata[] acked = new RecordMetadata[records];
        for (int i = 0; i < records; i++) {
            acked[i] = futures.get(i).get();
        }
        return acked;
    }

    private static List<Header> toHeaders(List<byte[][]> pairs) {
        List<Header> out = new ArrayList<>();
        for (byte[][] kv : pairs) {
            out.add(new RecordHeader(new String(kv[0], java.nio.charset.StandardCharsets.UTF_8), kv[1]));
        }
        return out;
    }

    private static String consumeAndCompare(String bootstrap, String topic, int partitions,
                                            int records, RecordMetadata[] acked) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "java-client-check");
        List<TopicPartition> tps = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            tps.add(new TopicPartition(topic, p));
        }
        // Index of the record expected at (partition, offset).
        int[][] expected = new int[partitions][];
        int[] counts = new int[partitions];
        for (int i = 0; i < records; i++) {
            counts[i % partitions]++;
        }
        for (int p = 0; p < partitions; p++) {
            expected[p] = new int[counts[p]];
        }
        for (int i = 0; i < records; i++) {
            expected[acked[i].partition()][(int) acked[i].offset()] = i;
        }
        long[] nextOffset = new long[partitions];
        int seen = 0;
        List<String> problems = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                 new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            long deadline = System.currentTimeMillis() + CONSUME_TIMEOUT_MS;
            while (seen < records && System.currentTimeMillis() < deadline) {
                ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(500));
                for (ConsumerRecord<byte[], byte[]> rec : batch) {
                    int p = rec.partition();
                    if (rec.offset() != nextOffset[p]) {
                        problems.add("partition " + p + " offset " + rec.offset() + ", expected "
                            + nextOffset[p]);
                    }
                    nextOffset[p] = rec.offset() + 1;
                    if (rec.offset() >= expected[p].length) {
                        problems.add("partition " + p + " has an extra record at " + rec.offset());
                        continue;
                    }
                    String diff = compare(rec, expected[p][(int) rec.offset()]);
                    if (diff != null) {
                        problems.add(diff);
                    }
                    seen++;
                }
            }
        }
        if (seen != records) {
            problems.add("consumed " + seen + " of " + records + " records");
        }
        if (problems.isEmpty()) {
            return null;
        }
        List<String> shown = problems.subList(0, Math.min(MAX_REPORTED, problems.size()));
        return problems.size() + " problems: " + String.join("; ", shown);
    }

    private static String compare(ConsumerRecord<byte[], byte[]> rec, int i) {
        String where = "partition " + rec.partition() + " offset " + rec.offset() + " (record " + i + ")";
        if (!Arrays.equals(rec.key(), RecordData.key(i))) {
            return where + ": key differs";
        }
        if (!Arrays.equals(rec.value(), RecordData.value(i))) {
            return where + ": value differs";
        }
        if (rec.timestamp() != RecordData.timestamp(i)) {
            return where + ": timestamp " + rec.timestamp() + ", sent " + RecordData.timestamp(i);
        }
        if (rec.timestampType() != TimestampType.CREATE_TIME) {
            return where + ": timestamp type " + rec.timestampType();
        }
        List<byte[][]> want = RecordData.headers(i);
        Header[] got = rec.headers().toArray();
        if (got.length != want.size()) {
            return where + ": " + got.length + " headers, sent " + want.size();
        }
        for (int h = 0; h < got.length; h++) {
            byte[] wantKey = want.get(h)[0];
            if (!Arrays.equals(got[h].key().getBytes(java.nio.charset.StandardCharsets.UTF_8), wantKey)
                    || !Arrays.equals(got[h].value(), want.get(h)[1])) {
                return where + ": header " + h + " differs";
            }
        }
        return null;
    }
}
