// javac's own parser, nothing after it: one line per file named on stdin, "ok" or "error <line>: <message>".
// Run as `java JavaParseOnly.java` (single-file launch); one JVM serves every file.
import com.sun.source.util.JavacTask;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

public class JavaParseOnly {
    public static void main(String[] args) throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        StandardJavaFileManager files = javac.getStandardFileManager(null, null, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String path; (path = in.readLine()) != null; ) {
            DiagnosticCollector<JavaFileObject> diags = new DiagnosticCollector<>();
            Iterable<? extends JavaFileObject> units = files.getJavaFileObjects(new File(path));
            JavacTask task = (JavacTask) javac.getTask(null, files, diags, List.of("-proc:none"), null, units);
            task.parse();
            String verdict = "ok";
            for (Diagnostic<? extends JavaFileObject> d : diags.getDiagnostics()) {
                if (d.getKind() == Diagnostic.Kind.ERROR) {
                    verdict = "error " + d.getLineNumber() + ": " + d.getMessage(null).split("\n")[0];
                    break;
                }
            }
            System.out.println(verdict);
            System.out.flush();
        }
    }
}
