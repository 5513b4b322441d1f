// Allocation-heavy workload for ServerSage's JVM GC log tests.
// Usage: java [GC flags] GcWorkload [seconds=3] [oom]
// Keeps a sliding window of live objects (so young and old collections both happen), allocates
// some humongous arrays, calls System.gc() once, and with "oom" keeps everything until the
// heap runs out (ends in OutOfMemoryError).
import java.util.ArrayList;
import java.util.List;

public class GcWorkload {
    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 3.0;
        boolean oom = args.length > 1 && args[1].equals("oom");
        long end = System.nanoTime() + (long) (seconds * 1e9);
        List<byte[]> live = new ArrayList<>();
        long sink = 0;
        int i = 0;
        while (System.nanoTime() < end) {
            byte[] b = new byte[(i % 64 == 0) ? 2 * 1024 * 1024 : 1024 + (i % 4096)];
            b[0] = (byte) i;
            sink += b.length;
            // The 2 MiB arrays (every 64th) are garbage unless "oom": a live window of them would
            // exhaust any small heap.
            if (oom || (i % 8 == 0 && i % 64 != 0)) {
                live.add(b);
            }
            if (!oom && live.size() > 20_000) {
                live.subList(0, 10_000).clear();
            }
            if (i == 200_000) {
                System.gc();
            }
            i++;
        }
        System.out.println("allocated " + sink + " bytes in " + i + " objects");
    }
}
