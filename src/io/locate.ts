/**
 * Finds the 1-based line of a descriptor path (`blocks[3].heads`, `dims.x`, `blocks[0].chunk.size`)
 * in YAML text, for error locations and CI annotations. Block-style YAML only (what memplan's files
 * use). When the full path cannot be followed (a key that is missing, a flow list `[a, b]`), it
 * returns the line of the deepest part found; undefined when not even the first part is there.
 */
export function lineOf(text: string, path: string): number | undefined {
  const parts: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) parts.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  const lines = text.split(/\r?\n/);
  const content = (l: string) => l.trim() !== '' && !l.trimStart().startsWith('#');
  const indentOf = (l: string) => /^ */.exec(l)![0].length;
  const item = /^( *)-(?: |$)/;
  // The node being searched: lines [from, to), whose direct children sit at `indent` (-1: not known yet).
  let from = 0;
  let to = lines.length;
  let indent = -1;
  let found: number | undefined;
  for (const part of parts) {
    let hit = -1;
    let childIndent = -1;
    let keyIndent = -1;
    if (typeof part === 'number') {
      let count = -1;
      for (let i = from; i < to && hit < 0; i++) {
        const m = item.exec(lines[i]!);
        if (!m || !content(lines[i]!)) continue;
        const ind = m[1]!.length;
        if (indent < 0) indent = ind;
        if (ind !== indent) continue;
        if (++count === part) hit = i;
      }
      if (hit < 0) return found;
      // A mapping inside the item: `- name: x` puts its keys two columns right of the dash.
      childIndent = item.exec(lines[hit]!)![1]!.length + 2;
    } else {
      const key = new RegExp(`^( *)(- )?(["']?)${part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\3 *:(?: |$)`);
      for (let i = from; i < to; i++) {
        const m = key.exec(lines[i]!);
        if (!m) continue;
        const ind = m[1]!.length + (m[2] ? 2 : 0);
        if (indent >= 0 && ind !== indent) continue;
        hit = i;
        keyIndent = ind;
        break;
      }
      if (hit < 0) return found;
    }
    found = hit + 1;
    // The node ends at the next content line indented no deeper than its own first line, except
    // `- ` items at the key's own indent (`blocks:` followed by unindented `- type: ...`).
    const isKey = typeof part === 'string';
    const base = isKey ? keyIndent : indentOf(lines[hit]!);
    to = lines.length;
    for (let i = hit + 1; i < lines.length; i++) {
      const l = lines[i]!;
      if (!content(l)) continue;
      if (indentOf(l) < base || (indentOf(l) === base && !(isKey && item.test(l) && !item.test(lines[hit]!)))) {
        to = i;
        break;
      }
    }
    from = isKey ? hit + 1 : hit;
    if (isKey) {
      // Children sit at the indent of the first content line below the key.
      const next = lines.slice(from, to).find(content);
      indent = next === undefined ? -1 : indentOf(next);
    } else {
      indent = childIndent;
    }
  }
  return found;
}
