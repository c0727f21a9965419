// The records of JavaClientCheck, a pure function of the record index, so
// that other readers (test_java_client.py) can rebuild them. Keep in step
// with record_data() in tests/interop/test_java_client.py.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

final class RecordData {
    static final long BASE_TIMESTAMP_MS = 1_700_000_000_000L;

    private RecordData() {
    }

    /** Null for every 17th record, else "key-<i>". */
    static byte[] key(int i) {
        return i % 17 == 0 ? null : ("key-" + i).getBytes(StandardCharsets.UTF_8);
    }

    /** Null for every 23rd record, else (i * 37) % 300 bytes covering all byte values. */
    static byte[] value(int i) {
        if (i % 23 == 0) {
            return null;
        }
        byte[] v = new byte[(i * 37) % 300];
        for (int j = 0; j < v.length; j++) {
            v[j] = (byte) ((i * 31 + j * 7) & 0xFF);
        }
        return v;
    }

    static long timestamp(int i) {
        return BASE_TIMESTAMP_MS + 3L * i;
    }

    /** Header (key, value) pairs in order: repeated keys and null values included. */
    static List<byte[][]> headers(int i) {
        List<byte[][]> out = new ArrayList<>();
        out.add(new byte[][] {bytes("seq"), new byte[] {
            (byte) (i >>> 24), (byte) (i >>> 16), (byte) (i >>> 8), (byte) i}});
        byte[] bin = new byte[i % 5];
        for (int j = 0; j < bin.length; j++) {
            bin[j] = (byte) ((i + j * 101) & 0xFF);
        }
        out.add(new byte[][] {bytes("bin"), bin});
        if (i % 3 == 0) {
            out.add(new byte[][] {bytes("seq"), bytes("again")});
        }
        if (i % 7 == 0) {
            out.add(new byte[][] {bytes("nothing"), null});
        }
        return out;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
