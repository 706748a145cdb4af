/** The seeded generator lives with the sandbox, whose fault modes take a seed too. */
export { seededRandom } from '#sandbox/random.ts';
