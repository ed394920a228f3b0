/**
 * A closed loop: `lanes` loops at once, each starting its next call of `one` as soon as its last one ends, for as
 * long as `more()` (asked before each call) says so. `more` and the start of `one`, up to its first `await`, run
 * without another lane in between, so a counter that `more` reads and `one` bumps first hands out each number once.
 * The benchmarks' closed-loop loads and the chaos run's bounded starts.
 */
export async function inLanes(lanes: number, more: () => boolean, one: () => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (more()) await one();
    }),
  );
}
