/**
 * File arguments shared by the CLI and the sandbox: a directory given where files are expected
 * stands for its `*.json` files (sorted by name, not recursive), as `rules apply events/rules/` and
 * the demo manifest use it.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Input: paths as given (files or directories).
 * Output: `files`, the paths with each directory replaced by its `*.json` files; `empty`, the
 * directories that had none. A path that does not exist is kept (reading it reports it).
 */
export function expandJsonPaths(paths: readonly string[]): { files: string[]; empty: string[] } {
  const files: string[] = [];
  const empty: string[] = [];
  for (const path of paths) {
    const inside = jsonFilesIn(path);
    if (inside === undefined) files.push(path);
    else if (inside.length === 0) empty.push(path);
    else files.push(...inside);
  }
  return { files, empty };
}

/** The `*.json` files of a directory, sorted; undefined when the path is not a directory. */
export function jsonFilesIn(path: string): string[] | undefined {
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    return undefined;
  }
  if (!isDirectory) return undefined;
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
    .map((entry) => join(path, entry.name))
    .sort();
}
