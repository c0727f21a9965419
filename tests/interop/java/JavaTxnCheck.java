// Transactions with the Java client (kafka-clients): a transactional
// producer commits, aborts and commits again; a read_committed consumer
// must read the committed records once each and no aborted one, a
// read_uncommitted consumer all of them; then the Admin client describes
// the transactional id, lists the transactions and describes the
// partitions' producers.
//
//   java -cp 'build/interop-java:build/kafka-jars/*' JavaTxnCheck BOOTSTRAP TOPIC
//
// The topic has one partition. Prints "COMMITTED n", "UNCOMMITTED n",
// "STATE s", "LISTED yes|no", "PRODUCERS n" and "OK", then exits 0; on any
// failure prints "FAIL reason" and exits 1.

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public final class JavaTxnCheck {
    private static final String TXN_ID = "java-txn";

    public static void main(String[] args) {
        if (args.length != 2) {
            System.err.println("usage: JavaTxnCheck BOOTSTRAP TOPIC");
            System.exit(2);
        }
        try {
            run(args[0], args[1]);
            System.out.println("OK");
        } catch (Exception e) {
            System.out.println("FAIL " + e);
            System.exit(1);
        }
    }

    private static void send(KafkaProducer<String, String> p, String topic, String prefix, int n) {
        for (int i = 0; i < n; i++) p.send(new ProducerRecord<>(topic, 0, null, prefix + i));
    }

    private static void run(String bootstrap, String topic) throws Exception {
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, TXN_ID);
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        try (KafkaProducer<String, String> p = new KafkaProducer<>(pp)) {
            p.initTransactions();
            p.beginTransaction();
            send(p, topic, "c1-", 10);
            p.commitTransaction();
            p.beginTransaction();
            send(p, topic, "a1-", 10);
            p.flush();
            p.abortTransaction();
            p.beginTransaction();
            send(p, topic, "c2-", 5);
            p.commitTransaction();
        }
        List<String> committed = read(bootstrap, topic, "read_committed");
        List<String> all = read(bootstrap, topic, "read_uncommitted");
        for (String v : committed)
            if (v.startsWith("a1-")) throw new IllegalStateException("read_committed read " + v);
        System.out.println("COMMITTED " + committed.size());
        System.out.println("UNCOMMITTED " + all.size());
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(ap)) {
            TransactionDescription d = admin.describeTransactions(Collections.singleton(TXN_ID))
                                           .description(TXN_ID).get();
            System.out.println("STATE " + d.state());
            boolean listed = false;
            for (TransactionListing l : admin.listTransactions().all().get())
                listed |= l.transactionalId().equals(TXN_ID);
            System.out.println("LISTED " + (listed ? "yes" : "no"));
            TopicPartition tp = new TopicPartition(topic, 0);
            List<ProducerState> producers = admin.describeProducers(Collections.singleton(tp))
                                                 .partitionResult(tp).get().activeProducers();
            System.out.println("PRODUCERS " + producers.size());
        }
    }

    private static List<String> read(String bootstrap, String topic, String isolation) {
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        List<String> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(Collections.singleton(tp));
            c.seekToBeginning(Collections.singleton(tp));
            long end = c.endOffsets(Collections.singleton(tp)).get(tp);
            long deadline = System.currentTimeMillis() + 30_000;
            while (c.position(tp) < end && System.currentTimeMillis() < deadline)
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) out.add(r.value());
        }
        return out;
    }
}
