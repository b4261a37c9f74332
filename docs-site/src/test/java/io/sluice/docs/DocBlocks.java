package io.sluice.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The fenced code blocks of the hand-written docs (docs-site/src/docs, README.md), with where they are and what
 * the line before each fence says about it:
 * <ul>
 *   <li>{@code <!-- not run: REASON -->}: a block a test cannot run (it starts a long-running server, needs a
 *       cluster, ...); the reason is required. A shell, Java or JavaScript block without it is run.</li>
 *   <li>{@code <!-- file: NAME -->}: the block is a file that the page's commands use (such as {@code
 *       --data-binary @NAME}); the shell test writes it into the folder the commands run in.</li>
 * </ul>
 */
final class DocBlocks {
    /** The languages of a shell block. */
    static final Set<String> SHELL = Set.of("sh", "bash", "shell", "zsh", "console");
    private static final Pattern MARK = Pattern.compile("^<!--\\s*(not run|file):\\s*(.*?)\\s*-->$");

    /**
     * A fenced block.
     *
     * @param page   the file, relative to the repository root (docs-site/src/docs/admin-api.md, README.md)
     * @param line   the line of its opening fence, from 1
     * @param lang   what follows the fence, or "" for none
     * @param text   its lines, each ending with a newline
     * @param notRun the reason given for not running it, or null
     * @param file   the file name it is to be written to, or null
     */
    record Block(String page, int line, String lang, String text, String notRun, String file) {
        /** @return page:line of the block's n-th line (0: the first line after the fence) */
        String at(int n) {
            return page + ":" + (line + 1 + n);
        }

        @Override
        public String toString() {
            return page + ":" + line + " (" + lang + ")";
        }
    }

    private DocBlocks() {
    }

    /** @return every block of every page, the pages in file name order (README.md last) */
    static List<Block> all() {
        List<Path> pages;
        try (Stream<Path> s = Files.walk(SiteSources.DOCS)) {
            pages = new ArrayList<>(s.filter(p -> p.toString().endsWith(".md")).sorted().toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        pages.add(SiteSources.ROOT.resolve("README.md"));
        List<Block> out = new ArrayList<>();
        for (Path p : pages) {
            out.addAll(of(SiteSources.ROOT.relativize(p).toString(), read(p)));
        }
        return out;
    }

    static List<Block> of(String page, List<String> lines) {
        List<Block> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (!l.startsWith("```")) {
                continue;
            }
            String lang = l.substring(3).strip();
            String notRun = null;
            String file = null;
            Matcher m = i > 0 ? MARK.matcher(lines.get(i - 1).strip()) : null;
            if (m != null && m.matches()) {
                if (m.group(1).equals("file")) {
                    file = m.group(2);
                } else {
                    notRun = m.group(2);
                }
            }
            int fence = i;
            String indent = lines.get(i).substring(0, lines.get(i).indexOf('`'));
            StringBuilder b = new StringBuilder();
            while (++i < lines.size() && !lines.get(i).strip().equals("```")) {
                String t = lines.get(i);
                b.append(t.startsWith(indent) ? t.substring(indent.length()) : t).append('\n');
            }
            out.add(new Block(page, fence + 1, lang, b.toString(), notRun, file));
        }
        return out;
    }

    private static List<String> read(Path p) {
        try {
            return Files.readAllLines(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
