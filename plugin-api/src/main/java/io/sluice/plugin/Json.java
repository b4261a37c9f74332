package io.sluice.plugin;

/**
 * Minimal JSON text helpers, so filters can build error bodies without a JSON library.
 */
public final class Json {
    private Json() {
    }

    /**
     * The gateway's error body.
     *
     * @param code    snake_case code
     * @param message human text
     * @return {@code {"error":"code","message":"message"}}
     */
    public static String error(String code, String message) {
        return "{\"error\":" + quote(code) + ",\"message\":" + quote(message) + "}";
    }

    /**
     * A JSON string literal.
     *
     * @param s text
     * @return the quoted, escaped text
     */
    public static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
