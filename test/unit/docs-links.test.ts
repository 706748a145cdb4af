/**
 * Every relative link in the README and in docs/ resolves: the file exists and, when the link names
 * an anchor, the target page has a heading with that GitHub slug. The README is the newcomer's
 * index, so it also stays short.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const pages = [
  resolve(root, 'README.md'),
  ...readdirSync(resolve(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => resolve(root, 'docs', name)),
];

/** The page without its fenced code blocks (a link-like text in code is not a link). */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, duplicates numbered. */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const match of prose(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = (match[1] ?? '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
    seen.set(slug, count + 1);
  }
  return anchors;
}

/** The relative link targets of a page, `[text](target)` outside code. */
function linksOf(text: string): string[] {
  const targets = [...prose(text).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '');
  return targets.filter((target) => !/^[a-z]+:/i.test(target));
}

describe('docs links', () => {
  it.each(pages.map((page) => [relative(root, page), page]))('every link in %s resolves', (_name, page) => {
    // Prepare
    const text = readFileSync(page, 'utf8');

    // Act
    const broken = linksOf(text).filter((link) => {
      const [file = '', anchor] = link.split('#');
      const target = file === '' ? page : resolve(dirname(page), file);
      if (!existsSync(target)) return true;
      if (anchor === undefined || !target.endsWith('.md')) return false;
      return !anchorsOf(readFileSync(target, 'utf8')).has(anchor);
    });

    // Assess
    expect(broken).toEqual([]);
  });

  it('finds a broken file and a broken anchor (the checker itself)', () => {
    // Prepare
    const text = '# Title\n\n## A section: here\n\n[ok](#a-section-here) [gone](#nowhere) [file](no-such.md)';

    // Act
    const anchors = anchorsOf(text);
    const links = linksOf(text);

    // Assess
    expect(links).toEqual(['#a-section-here', '#nowhere', 'no-such.md']);
    expect(links.filter((l) => l.startsWith('#') && !anchors.has(l.slice(1)))).toEqual(['#nowhere']);
  });

  it('keeps the README under 250 lines', () => {
    // Act
    const lines = readFileSync(resolve(root, 'README.md'), 'utf8').split('\n').length;

    // Assess
    expect(lines).toBeLessThan(250);
  });
});
