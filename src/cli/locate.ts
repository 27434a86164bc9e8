/**
 * Finds the 1-based line of a descriptor path (`blocks[3].heads`) in YAML text, for error locations
 * and CI annotations. Block-style YAML only (what memplan's files use); returns undefined when the
 * path cannot be followed, and the caller then prints the path alone.
 */
export function lineOf(text: string, path: string): number | undefined {
  const parts: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) parts.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  const lines = text.split('\n');
  let from = 0;
  let to = lines.length;
  let indent = -1;
  let found: number | undefined;
  for (const part of parts) {
    let hit = -1;
    if (typeof part === 'number') {
      let count = -1;
      for (let i = from; i < to; i++) {
        const m = /^(\s*)- /.exec(lines[i]!);
        if (!m) continue;
        const ind = m[1]!.length;
        if (indent < 0 || ind >= indent) {
          if (indent < 0) indent = ind;
          if (ind !== indent) continue;
          count++;
          if (count === part) {
            hit = i;
            break;
          }
        }
      }
      if (hit < 0) return found;
      indent = (/^(\s*)- /.exec(lines[hit]!)?.[1]!.length ?? 0) + 2;
    } else {
      const re = new RegExp(`^(\\s*)(- )?${part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:`);
      for (let i = from; i < to; i++) {
        const m = re.exec(lines[i]!);
        if (!m) continue;
        const ind = m[1]!.length + (m[2] ? 2 : 0);
        if (indent >= 0 && ind !== indent) continue;
        hit = i;
        indent = ind;
        break;
      }
      if (hit < 0) return found;
      indent = -1;
    }
    found = hit + 1;
    from = typeof part === 'number' ? hit : hit + 1;
    // The node ends at the next line indented no deeper than this one.
    const base = /^(\s*)/.exec(lines[hit]!)![1]!.length;
    to = lines.length;
    for (let i = hit + 1; i < lines.length; i++) {
      const l = lines[i]!;
      if (!l.trim() || l.trim().startsWith('#')) continue;
      if (/^(\s*)/.exec(l)![1]!.length <= base && !(typeof part === 'string' && /^\s*- /.test(l) && /^(\s*)/.exec(l)![1]!.length === base)) {
        to = i;
        break;
      }
    }
  }
  return found;
}
