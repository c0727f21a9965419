// Creates one topic with the Java Admin client (kafka-clients) and prints
// how the cluster placed it, as the Admin client describes it.
//
//   java -cp 'build/interop-java:build/kafka-jars/*' AdminCreateTopic \
//       BOOTSTRAP TOPIC PARTITIONS REPLICATION_FACTOR
//
// Prints "CREATED topic" and one line per partition,
// "PARTITION p LEADER l REPLICAS a,b,c ISR a,b,c", then exits 0; on any
// failure prints "FAIL reason" and exits 1. A broker may learn of the new
// topic a little after the controller answered (as in Kafka), so the
// describe is retried while the topic is unknown, up to TIMEOUT_MS.

import java.util.Collections;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

public final class AdminCreateTopic {
    private static final int TIMEOUT_MS = 30_000;
    private static final long RETRY_MS = 200;

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: AdminCreateTopic BOOTSTRAP TOPIC PARTITIONS REPLICATION_FACTOR");
            System.exit(2);
        }
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, TIMEOUT_MS);
        String topic = args[1];
        NewTopic nt = new NewTopic(topic, Integer.parseInt(args[2]), Short.parseShort(args[3]));
        try (Admin admin = Admin.create(props)) {
            admin.createTopics(Collections.singleton(nt)).all().get();
            System.out.println("CREATED " + topic);
            TopicDescription d = describe(admin, topic);
            for (TopicPartitionInfo p : d.partitions()) {
                System.out.printf("PARTITION %d LEADER %d REPLICAS %s ISR %s%n", p.partition(),
                                  p.leader() == null ? -1 : p.leader().id(), ids(p.replicas()),
                                  ids(p.isr()));
            }
        } catch (Exception e) {
            System.out.println("FAIL " + e.toString().replace('\n', ' '));
            System.exit(1);
        }
    }

    private static TopicDescription describe(Admin admin, String topic) throws Exception {
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        for (;;) {
            try {
                return admin.describeTopics(Collections.singleton(topic)).allTopicNames().get()
                    .get(topic);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)
                    || System.currentTimeMillis() > deadline) {
                    throw e;
                }
                Thread.sleep(RETRY_MS);
            }
        }
    }

    private static String ids(java.util.List<Node> nodes) {
        return nodes.stream().map(n -> Integer.toString(n.id())).collect(Collectors.joining(","));
    }
}
