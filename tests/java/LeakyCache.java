// A cache that never evicts: every request leaves 512 bytes behind and makes short-lived
// garbage, until the heap is exhausted.
import java.util.HashMap;
import java.util.Map;

public class LeakyCache {
    public static void main(String[] args) throws InterruptedException {
        Map<Integer, byte[]> cache = new HashMap<>();
        long garbage = 0;
        for (int i = 0; ; i++) {
            cache.put(i, new byte[512]);
            for (int j = 0; j < 16; j++) {
                garbage += new byte[256 + (j * 61) % 1024].length;
            }
            if (i % 2000 == 0) {
                Thread.sleep(1);
            }
        }
    }
}
