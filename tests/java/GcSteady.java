// Steady allocation for ServerSage's GC log rotation test.
// Usage: java [GC flags] GcSteady <mb-per-second> <stop-file> [max-seconds=60]
// Allocates <mb-per-second> MiB/s of 64 KiB arrays in 10 ms steps, keeping the latest 16 MiB
// of them live (so some survive and are promoted), until <stop-file> exists (the test waits
// for the GC log's Nth rotated file) or max-seconds pass.
import java.io.File;

public class GcSteady {
    public static void main(String[] args) throws InterruptedException {
        int mbPerSecond = Integer.parseInt(args[0]);
        File stop = new File(args[1]);
        double maxSeconds = args.length > 2 ? Double.parseDouble(args[2]) : 60.0;
        long end = System.nanoTime() + (long) (maxSeconds * 1e9);
        byte[][] live = new byte[256][];
        long sink = 0;
        int i = 0;
        int perStep = Math.max(1, mbPerSecond * 16 / 100);
        while (System.nanoTime() < end && !stop.exists()) {
            for (int k = 0; k < perStep; k++) {
                byte[] b = new byte[64 * 1024];
                b[0] = (byte) i;
                sink += b.length;
                live[i++ % live.length] = b;
            }
            Thread.sleep(10);
        }
        System.out.println("allocated " + sink + " bytes");
    }
}
