// A consumer group of the Java client (kafka-clients, classic group protocol),
// which speaks the newest versions of the group APIs: FindCoordinator v4+
// (batched keys), JoinGroup v9, SyncGroup v5, Heartbeat v4, LeaveGroup v5,
// OffsetCommit v9, OffsetFetch v9 (several groups at once), DescribeGroups v5
// and ListGroups v5.
//
//   java -cp 'build/interop-java:build/kafka-jars/*' JavaGroupCheck BOOTSTRAP PREFIX
//
// Prints one line per check, "PASS name" or "FAIL name: reason", and exits 0
// when all passed, 1 otherwise:
//   consume   two members share a 4-partition topic and read every record once
//   describe  the Admin client describes the group: Stable, two members, the
//             operations READ, DESCRIBE, DELETE
//   list      the Admin client lists the group among the Stable ones
//   offsets   one Admin call fetches the committed offsets of two groups
//   leave     a member that closes leaves; the other gets every partition
//   static    a static member (the leader) restarts into its Stable group and
//             gets its partitions back (JoinGroup v9 skip_assignment)

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListConsumerGroupsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.ConsumerGroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class JavaGroupCheck {
    private static final int PARTITIONS = 4;
    private static final int RECORDS = 400;
    private static final long WAIT_MS = 60_000;

    private static String bootstrap;
    private static boolean failed;

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: JavaGroupCheck BOOTSTRAP PREFIX");
            System.exit(2);
        }
        bootstrap = args[0];
        String topic = args[1];
        String group = args[1] + "-g";
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) WAIT_MS);
        try (Admin admin = Admin.create(ap)) {
            admin.createTopics(Collections.singleton(new NewTopic(topic, PARTITIONS, (short) 1)))
                .all().get();
            produce(topic);
            KafkaConsumer<byte[], byte[]> a = consumer(group, "a", null);
            KafkaConsumer<byte[], byte[]> b = consumer(group, "b", null);
            try {
                checkConsume(topic, a, b);
                checkDescribe(admin, group);
                checkList(admin, group);
                checkOffsets(admin, topic, group);
                b.close();
                checkLeave(a);
            } finally {
                a.close();
            }
            checkStatic(topic, group + "-static");
        } catch (Exception e) {
            report("setup", e.toString());
        }
        System.exit(failed ? 1 : 0);
    }

    private static void report(String name, String problem) {
        if (problem == null) {
            System.out.println("PASS " + name);
        } else {
            failed = true;
            System.out.println("FAIL " + name + ": " + problem.replace('\n', ' '));
        }
        System.out.flush();
    }

    private static void produce(String topic) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (KafkaProducer<byte[], byte[]> producer =
                 new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < RECORDS; i++)
                producer.send(new ProducerRecord<>(topic, i % PARTITIONS, null, ("r" + i).getBytes()));
            producer.flush();
        }
    }

    private static KafkaConsumer<byte[], byte[]> consumer(String group, String name, String instance) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "java-group-" + name);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
        if (instance != null) p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instance);
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private static boolean pollUntil(List<KafkaConsumer<byte[], byte[]>> members, Set<String> seen,
                                     BooleanSupplier done) {
        long deadline = System.currentTimeMillis() + WAIT_MS;
        while (System.currentTimeMillis() < deadline) {
            for (KafkaConsumer<byte[], byte[]> c : members) {
                for (ConsumerRecord<byte[], byte[]> rec : c.poll(Duration.ofMillis(100)))
                    seen.add(rec.partition() + "@" + rec.offset());
            }
            if (done.getAsBoolean()) return true;
        }
        return false;
    }

    private static void checkConsume(String topic, KafkaConsumer<byte[], byte[]> a,
                                     KafkaConsumer<byte[], byte[]> b) {
        a.subscribe(Collections.singleton(topic));
        b.subscribe(Collections.singleton(topic));
        List<KafkaConsumer<byte[], byte[]>> both = List.of(a, b);
        Set<String> seen = new HashSet<>();
        boolean ok = pollUntil(both, seen, () -> seen.size() == RECORDS &&
            a.assignment().size() + b.assignment().size() == PARTITIONS &&
            !a.assignment().isEmpty() && !b.assignment().isEmpty());
        commitEnd(a);
        commitEnd(b);
        Set<TopicPartition> union = new HashSet<>(a.assignment());
        union.addAll(b.assignment());
        report("consume", ok && union.size() == PARTITIONS ? null :
               "read " + seen.size() + " of " + RECORDS + ", assignments " + a.assignment() +
               " and " + b.assignment());
    }

    /* Commits the end of every partition the member holds (its position may
       not be known yet on a partition it got back in the last rebalance). */
    private static void commitEnd(KafkaConsumer<byte[], byte[]> c) {
        Map<TopicPartition, OffsetAndMetadata> end = new HashMap<>();
        for (TopicPartition tp : c.assignment())
            end.put(tp, new OffsetAndMetadata(RECORDS / PARTITIONS));
        c.commitSync(end);
    }

    private static void checkDescribe(Admin admin, String group) throws Exception {
        ConsumerGroupDescription d = admin.describeConsumerGroups(Collections.singleton(group),
            new DescribeConsumerGroupsOptions().includeAuthorizedOperations(true))
            .describedGroups().get(group).get();
        Set<AclOperation> ops = d.authorizedOperations();
        Set<AclOperation> want = EnumSet.of(AclOperation.READ, AclOperation.DESCRIBE,
                                            AclOperation.DELETE);
        boolean ok = d.state() == ConsumerGroupState.STABLE && d.members().size() == 2 &&
            want.equals(ops) && "range".equals(d.partitionAssignor());
        report("describe", ok ? null : "state " + d.state() + ", members " + d.members().size() +
               ", operations " + ops + ", assignor " + d.partitionAssignor());
    }

    private static void checkList(Admin admin, String group) throws Exception {
        List<String> stable = new ArrayList<>();
        for (ConsumerGroupListing l : admin.listConsumerGroups(new ListConsumerGroupsOptions()
                 .inStates(EnumSet.of(ConsumerGroupState.STABLE))).all().get())
            stable.add(l.groupId());
        report("list", stable.contains(group) ? null : "Stable groups " + stable);
    }

    private static void checkOffsets(Admin admin, String topic, String group) throws Exception {
        String other = group + "-admin";
        Map<TopicPartition, OffsetAndMetadata> reset = new HashMap<>();
        for (int p = 0; p < PARTITIONS; p++)
            reset.put(new TopicPartition(topic, p), new OffsetAndMetadata(p + 1));
        admin.alterConsumerGroupOffsets(other, reset).all().get();
        Map<String, ListConsumerGroupOffsetsSpec> specs = new HashMap<>();
        specs.put(group, new ListConsumerGroupOffsetsSpec());
        specs.put(other, new ListConsumerGroupOffsetsSpec());
        Map<String, Map<TopicPartition, OffsetAndMetadata>> got =
            admin.listConsumerGroupOffsets(specs).all().get();
        StringBuilder problems = new StringBuilder();
        for (int p = 0; p < PARTITIONS; p++) {
            TopicPartition tp = new TopicPartition(topic, p);
            OffsetAndMetadata mine = got.getOrDefault(group, Map.of()).get(tp);
            OffsetAndMetadata theirs = got.getOrDefault(other, Map.of()).get(tp);
            if (mine == null || mine.offset() != RECORDS / PARTITIONS)
                problems.append(group).append(' ').append(tp).append('=').append(mine).append(' ');
            if (theirs == null || theirs.offset() != p + 1)
                problems.append(other).append(' ').append(tp).append('=').append(theirs).append(' ');
        }
        report("offsets", problems.length() == 0 ? null : problems.toString());
    }

    private static void checkLeave(KafkaConsumer<byte[], byte[]> a) {
        Set<String> seen = new HashSet<>();
        boolean ok = pollUntil(List.of(a), seen, () -> a.assignment().size() == PARTITIONS);
        report("leave", ok && seen.isEmpty() ? null :
               "assignment " + a.assignment() + ", records read again " + seen.size());
    }

    private static void checkStatic(String topic, String group) {
        Set<String> seen = new HashSet<>();
        KafkaConsumer<byte[], byte[]> first = consumer(group, "s1", "s1");
        Set<TopicPartition> before;
        try {
            first.subscribe(Collections.singleton(topic));
            if (!pollUntil(List.of(first), seen, () -> first.assignment().size() == PARTITIONS)) {
                report("static", "first assignment " + first.assignment());
                return;
            }
            before = new HashSet<>(first.assignment());
        } finally {
            first.close(); // a static member sends no LeaveGroup
        }
        KafkaConsumer<byte[], byte[]> again = consumer(group, "s1-again", "s1");
        try {
            again.subscribe(Collections.singleton(topic));
            boolean ok = pollUntil(List.of(again), seen, () -> again.assignment().size() == PARTITIONS);
            report("static", ok && before.equals(again.assignment()) ? null :
                   "assignment after the restart " + again.assignment() + ", before " + before);
        } finally {
            again.close();
        }
    }
}
