/**
 * Everything memplan prints passes through here. Text from the input (a model's name, a note, an
 * expression in an error) must not act on the terminal or on the CI runner reading the log:
 * control characters other than newline and tab are shown as `\u001b`, and a line that starts
 * with `::` (a GitHub Actions workflow command: `::add-mask::`, `::stop-commands::`, `::set-output`)
 * is defused to `: :`, except memplan's own `--format github` annotations (`::error file=`,
 * `::warning file=`), whose data is escaped where they are made.
 */
import type { Writable } from './context.js';

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;
const OWN_ANNOTATION = /^::(error|warning) file=/;

export function defuse(text: string, atLineStart = true): string {
  const escaped = text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.replace(/(^|\n)([ \t]*)::/g, (m, nl: string, ws: string, offset: number) => {
    if (offset === 0 && nl === '' && !atLineStart) return m;
    const rest = escaped.slice(offset + nl.length + ws.length);
    return OWN_ANNOTATION.test(rest) && ws === '' ? m : `${nl}${ws}: :`;
  });
}

/** A writer that defuses what it is given, knowing whether the last write ended a line. */
export function safeWriter(w: Writable): Writable {
  let atLineStart = true;
  return {
    write(s: string) {
      const out = defuse(s, atLineStart);
      if (s.length) atLineStart = s.endsWith('\n');
      return w.write(out);
    },
  };
}
