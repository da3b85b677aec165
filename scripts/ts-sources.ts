/**
 * The parsed .ts files under `<root>/src`, for the layering checks
 * (scripts/check-imports.ts, test/unit/layering.test.ts). TypeScript 7 has no
 * in-process parser API (`ts.createSourceFile`, `ts.preProcessFile`): its API
 * runs the compiler as a child process and hands back each file's syntax
 * tree. The project is `<root>/tsconfig.json`; the child is closed before
 * this returns, so `visit` must take what it needs from each tree while it runs.
 */
import { join, sep } from 'node:path';
import { API } from 'typescript/unstable/sync';
import type { SourceFile } from 'typescript/unstable/ast';

export function forEachSourceFile(root: string, visit: (file: string, sf: SourceFile) => void): void {
  const src = join(root, 'src');
  const api = new API({ cwd: root });
  try {
    const project = api.updateSnapshot({ openProject: join(root, 'tsconfig.json') }).getProjects()[0];
    if (!project) throw new Error(`no TypeScript project at ${join(root, 'tsconfig.json')}`);
    const files = project.program
      .getSourceFileNames()
      .filter((f) => f.startsWith(src + sep) && f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .sort();
    for (const file of files) {
      const sf = project.program.getSourceFile(file);
      if (!sf) throw new Error(`TypeScript did not parse ${file}`);
      visit(file, sf);
    }
  } finally {
    api.close();
  }
}

/** The 1-based line of a position in a parsed file. */
export const lineAt = (sf: SourceFile, pos: number): number => sf.text.slice(0, pos).split('\n').length;
