#!/usr/bin/env node
/**
 * Comment-path lint: every repository path a comment names must exist, and no comment may cite a
 * document that lives outside the repository.
 *
 *   node scripts/check-comment-paths.mjs          # exit 1 and one line per finding when any
 *
 * Scans the comments (not strings, not code) of *.ts, *.mjs and *.cjs files under lib, common,
 * functions, cli, sandbox, bench, scripts and test, and the `#` comments of serverless.yml. A path is a token
 * that starts with a top-level folder of the repository (or its `#lib/`-style import alias);
 * globs (`*`), placeholders (`<feature>`) and brace lists are patterns, not paths, and are skipped.
 * Plain Node, no dependencies.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folders whose files are scanned. */
export const SCANNED_DIRS = ['lib', 'common', 'functions', 'cli', 'sandbox', 'bench', 'scripts', 'test'];
const SCANNED_EXTENSIONS = ['.ts', '.mjs', '.cjs'];
const YAML_FILES = ['serverless.yml'];
const SKIPPED_DIRS = new Set([
  'node_modules',
  '.serverless',
  '.esbuild',
  'dist',
  'coverage',
  '.sandbox-data',
]);

/** Top-level names a path token may start with (checked against the file system). */
const PATH_ROOTS = [...SCANNED_DIRS, 'docs', 'types', 'events', 'bin', 'shared'];
const PATH_TOKEN = new RegExp(`(?<![\\w.@/-])#?(?:${PATH_ROOTS.join('|')})/[\\w./*-]*`, 'g');

/**
 * Citations of documents outside the repository. Each: a pattern and the reason printed.
 * The architecture document counts only under docs/; "seed" numbers are outside working papers
 * (an RNG seed is written as `--seed N` or with many digits, and does not match).
 */
const OUTSIDE_DOCUMENTS = [
  {
    pattern: /(?<![\w/.-])ARCHITECTURE\.md\b/g,
    reason: 'architecture document outside docs/ (cite docs/ARCHITECTURE.md)',
  },
  { pattern: /\bCONVENTIONS\.md\b/g, reason: 'conventions document outside the repository' },
  { pattern: /\.\.\/shared\//g, reason: 'path outside the repository' },
  {
    pattern: /(?<!-)\bseeds?\s*\(?\s*(?:0\d+|\d{1,2})\b/gi,
    reason: 'seed citation (cite the AWS document by name)',
  },
  {
    pattern: /\bseeds?\s+(?:README|table|constraints|limits|directory|files?)\b/gi,
    reason: 'seed citation (cite the AWS document by name)',
  },
  { pattern: /\b(?:the|from the|in the) seeds\b/gi, reason: 'seed citation (cite the AWS document by name)' },
  {
    pattern: /\(\s*00\d(?:\s*[,–-]\s*00\d)*\s*[,)]/g,
    reason: 'numbered seed citation (cite the AWS document by name)',
  },
];

/**
 * Extracts the comments of a JavaScript/TypeScript source.
 * Input: the source text. Output: [{ text, line }] (line 1-based, where the comment starts).
 * Strings, template literals (with nested `${}`) and regular-expression literals are skipped.
 */
export function jsComments(source) {
  const comments = [];
  let line = 1;
  let i = 0;
  const n = source.length;
  /** Depth stack of template literals: each entry counts open braces inside its `${`. */
  const templates = [];
  let lastSignificant = '';

  const advance = (to) => {
    for (let k = i; k < to; k++) if (source[k] === '\n') line++;
    i = to;
  };
  const regexAllowed = () =>
    lastSignificant === '' ||
    /[(,=:[!&|?{};+\-*%<>~^]$/.test(lastSignificant) ||
    /\b(?:return|typeof|case|of|in|void|delete|throw|yield|await)$/.test(lastSignificant);

  while (i < n) {
    const c = source[i];
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      const end = source.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      comments.push({ text: source.slice(i + 2, stop), line });
      advance(stop);
      continue;
    }
    if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      comments.push({ text: source.slice(i + 2, end === -1 ? n : end), line });
      advance(stop);
      continue;
    }
    if (c === "'" || c === '"') {
      let k = i + 1;
      while (k < n && source[k] !== c && source[k] !== '\n') k += source[k] === '\\' ? 2 : 1;
      advance(Math.min(k + 1, n));
      lastSignificant = 'x';
      continue;
    }
    if (c === '`' || (c === '}' && templates.length > 0 && templates[templates.length - 1] === 0)) {
      if (c === '}') templates.pop();
      let k = i + 1;
      while (k < n && source[k] !== '`' && !(source[k] === '$' && source[k + 1] === '{'))
        k += source[k] === '\\' ? 2 : 1;
      if (source[k] === '$') {
        templates.push(0);
        advance(k + 2);
        lastSignificant = '{';
      } else {
        advance(Math.min(k + 1, n));
        lastSignificant = 'x';
      }
      continue;
    }
    if (c === '/' && regexAllowed()) {
      let k = i + 1;
      let inClass = false;
      while (k < n && source[k] !== '\n') {
        if (source[k] === '\\') k++;
        else if (source[k] === '[') inClass = true;
        else if (source[k] === ']') inClass = false;
        else if (source[k] === '/' && !inClass) break;
        k++;
      }
      advance(Math.min(k + 1, n));
      lastSignificant = 'x';
      continue;
    }
    if (c === '{' && templates.length > 0) templates[templates.length - 1]++;
    if (c === '}' && templates.length > 0) templates[templates.length - 1]--;
    if (!/\s/.test(c)) {
      if (/[\w$]/.test(c)) {
        let k = i;
        while (k < n && /[\w$]/.test(source[k])) k++;
        lastSignificant = source.slice(i, k);
        advance(k);
        continue;
      }
      lastSignificant = c;
    }
    advance(i + 1);
  }
  return comments;
}

/**
 * Extracts the `#` comments of a YAML file: a `#` at the start of a line or after white space,
 * outside quotes. Input: the text. Output: [{ text, line }].
 */
export function yamlComments(source) {
  const comments = [];
  source.split('\n').forEach((text, index) => {
    let quote = '';
    for (let k = 0; k < text.length; k++) {
      const c = text[k];
      if (quote) {
        if (c === quote) quote = '';
      } else if (c === "'" || c === '"') {
        quote = c;
      } else if (c === '#' && (k === 0 || /\s/.test(text[k - 1]))) {
        comments.push({ text: text.slice(k + 1), line: index + 1 });
        return;
      }
    }
  });
  return comments;
}

/**
 * True when the repository path exists. Also accepted: a `.js` import of a `.ts` file, a module
 * path without extension (`functions/ingest`) and a Lambda handler (`functions/ingest.handler`).
 */
export function repoPathExists(root, path) {
  const full = join(root, path);
  const candidates = [full, full.replace(/\.js$/, '.ts'), `${full}.ts`, full.replace(/\.\w+$/, '.ts')];
  return candidates.some((candidate) => existsSync(candidate));
}

/**
 * Checks the comments of one file's text.
 * Input: text; kind 'js' or 'yaml'; exists(path) → boolean for a repository-relative path.
 * Output: [{ line, reference, reason }], in order of appearance.
 */
export function checkText(text, kind, exists) {
  const comments = kind === 'yaml' ? yamlComments(text) : jsComments(text);
  const findings = [];
  for (const comment of comments) {
    const lines = comment.text.split('\n');
    lines.forEach((body, offset) => {
      const line = comment.line + offset;
      for (const match of body.matchAll(PATH_TOKEN)) {
        const after = body[match.index + match[0].length] ?? '';
        const reference = match[0].replace(/[.:,;-]+$/, '');
        if (reference.includes('*') || after === '<' || after === '{') continue;
        const path = reference.replace(/^#/, '').replace(/\/$/, '');
        if (!exists(path)) findings.push({ line, reference, reason: 'no such path in the repository' });
      }
      for (const { pattern, reason } of OUTSIDE_DOCUMENTS) {
        for (const match of body.matchAll(pattern)) findings.push({ line, reference: match[0], reason });
      }
    });
  }
  return findings.sort((a, b) => a.line - b.line);
}

function listFiles(root, dir) {
  const full = join(root, dir);
  if (!existsSync(full)) return [];
  const files = [];
  for (const entry of readdirSync(full, { withFileTypes: true })) {
    if (SKIPPED_DIRS.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listFiles(root, path));
    else if (SCANNED_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) files.push(path);
  }
  return files;
}

/**
 * Checks the repository at root.
 * Output: [{ file, line, reference, reason }] (file relative to root, forward slashes).
 */
export function checkRepository(root) {
  const exists = (path) => repoPathExists(root, path);
  const findings = [];
  const files = [
    ...SCANNED_DIRS.flatMap((dir) => listFiles(root, dir)).map((file) => ({ file, kind: 'js' })),
    ...YAML_FILES.filter((file) => existsSync(join(root, file)) && statSync(join(root, file)).isFile()).map(
      (file) => ({ file, kind: 'yaml' }),
    ),
  ];
  for (const { file, kind } of files) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const finding of checkText(text, kind, exists)) {
      findings.push({ file: file.split('\\').join('/'), ...finding });
    }
  }
  return findings;
}

const invokedDirectly = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const findings = checkRepository(root);
  for (const f of findings) {
    process.stdout.write(`${relative(root, join(root, f.file))}:${f.line}: ${f.reference}: ${f.reason}\n`);
  }
  if (findings.length > 0) {
    process.stdout.write(`${findings.length} comment reference(s) to fix\n`);
    process.exitCode = 1;
  }
}
