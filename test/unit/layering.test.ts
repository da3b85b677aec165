/**
 * SQL lives only in src/storage/ (issue 9): outside it, no `.prepare(`, no
 * `.pragma(`, no `.exec(` with a literal statement, and no string or template
 * literal that reads as SQL (SELECT … FROM, INSERT INTO, CREATE TABLE/INDEX,
 * UPDATE … SET, DELETE FROM, ALTER/DROP TABLE, or a statement opening with
 * BEGIN, COMMIT, ROLLBACK or SAVEPOINT). Keywords are matched in upper case,
 * as this code base writes SQL, so prose in messages does not trip it.
 * Literals and calls are found in the TypeScript syntax tree
 * (scripts/ts-sources.ts), so comments do not count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SyntaxKind, type Node, type SourceFile } from 'typescript/unstable/ast';
import { forEachSourceFile, lineAt } from '../../scripts/ts-sources.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Files outside src/storage/ that may still hold SQL, each with the reason and who removes it. */
const ALLOWED_FILES = new Set<string>([]);

const SQL_PATTERNS: RegExp[] = [
  /\bSELECT\b[\s\S]*\bFROM\b/,
  /\bINSERT\s+(?:OR\s+[A-Z]+\s+)?INTO\b/,
  /\bCREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b/,
  /\bUPDATE\s+\w+\s+SET\b/,
  /\bDELETE\s+FROM\b/,
  /\b(?:ALTER|DROP)\s+(?:TABLE|INDEX)\b/,
  /^\s*(?:BEGIN|COMMIT|ROLLBACK|SAVEPOINT)\b/,
];

const looksLikeSql = (text: string) => SQL_PATTERNS.some((p) => p.test(text));

/** The text of a literal, or of a whole template with `?` for its substitutions; null for other nodes. */
function literalText(node: Node): string | null {
  const n = node as unknown as { kind: SyntaxKind; text?: string; head?: { text: string }; templateSpans?: readonly { literal: { text: string } }[] };
  if (n.kind === SyntaxKind.StringLiteral || n.kind === SyntaxKind.NoSubstitutionTemplateLiteral) return n.text ?? '';
  if (n.kind === SyntaxKind.TemplateExpression) return [n.head!.text, ...n.templateSpans!.map((s) => s.literal.text)].join(' ? ');
  return null;
}

/** `.name(` calls: the method name and the node of the first argument. */
function methodCall(node: Node): { name: string; arg: Node | undefined } | null {
  const n = node as unknown as { kind: SyntaxKind; expression?: { kind: SyntaxKind; name?: { text: string } }; arguments?: readonly Node[] };
  if (n.kind !== SyntaxKind.CallExpression || n.expression?.kind !== SyntaxKind.PropertyAccessExpression) return null;
  return { name: n.expression.name!.text, arg: n.arguments?.[0] };
}

function findingsIn(sf: SourceFile): string[] {
  const out: string[] = [];
  const at = (node: Node, what: string) => out.push(`${lineAt(sf, node.end)}: ${what}`);
  const visit = (node: Node): void => {
    const call = methodCall(node);
    if (call?.name === 'prepare' || call?.name === 'pragma') at(node, `.${call.name}(`);
    else if (call?.name === 'exec' && call.arg && literalText(call.arg) !== null) at(node, `.exec(${JSON.stringify(literalText(call.arg)!.trim().slice(0, 40))})`);
    const text = literalText(node);
    if (text !== null && looksLikeSql(text)) at(node, `SQL in a literal: ${JSON.stringify(text.trim().slice(0, 60))}`);
    // A template's parts are judged together, above.
    if (text === null) node.forEachChild(visit);
  };
  sf.forEachChild(visit);
  return out;
}

/** `file:line: what` for every piece of SQL under `<root>/src` outside src/storage/ and the allowed files. */
export function sqlOutsideStorage(root: string, allowed: ReadonlySet<string> = ALLOWED_FILES): string[] {
  const out: string[] = [];
  forEachSourceFile(root, (file, sf) => {
    const rel = relative(root, file).split(sep).join('/');
    if (rel.startsWith('src/storage/') || allowed.has(rel)) return;
    for (const f of findingsIn(sf)) out.push(`${rel}:${f}`);
  });
  return out;
}

test('SQL lives only in src/storage/ (and the allowed files)', () => {
  assert.deepEqual(sqlOutsideStorage(ROOT), []);
});

test('the check finds SQL outside storage, and only there', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-layering-'));
  try {
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true }, include: ['src/**/*.ts'] }));
    write(
      'src/notify/bad.ts',
      [
        'declare const db: { prepare(s: string): unknown; exec(s: string): void };',
        'const table = "outbox";',
        '// SELECT id FROM outbox in a comment does not count',
        "export const a = db.prepare('SELECT 1');",
        "export function b() { db.exec('BEGIN IMMEDIATE'); }",
        'export const c = `DELETE FROM ${table} WHERE id = ?`;',
        "export const d = 'please select a backend from the list';",
        'export const e = /x/.exec(table);',
        "export const f = 'INSERT OR IGNORE INTO outbox (id) VALUES (?)';",
        '',
      ].join('\n'),
    );
    write('src/storage/good.ts', "export const q = 'SELECT * FROM outbox';\n");
    write('src/haproxy/apply.ts', "export const q = 'BEGIN IMMEDIATE';\n");
    const found = sqlOutsideStorage(dir, new Set());
    assert.deepEqual(
      found.map((f) => f.replace(/: .*/, '')),
      ['src/haproxy/apply.ts:1', 'src/notify/bad.ts:4', 'src/notify/bad.ts:5', 'src/notify/bad.ts:5', 'src/notify/bad.ts:6', 'src/notify/bad.ts:9'],
      found.join('\n'),
    );
    // The default allow-list is empty: apply.ts is reported like any other file.
    assert.deepEqual(sqlOutsideStorage(dir), found);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
