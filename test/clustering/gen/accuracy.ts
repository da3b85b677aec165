/**
 * Grouping accuracy (GA), the standard metric of log-parser benchmarks: a
 * line counts as correct when the set of lines in its predicted group is
 * exactly the set of lines in its true group; GA is the share of correct
 * lines.
 */
export function groupingAccuracy(predicted: readonly string[], truth: readonly string[]): number {
  if (predicted.length !== truth.length) throw new Error(`length mismatch: ${predicted.length} predicted, ${truth.length} true`);
  if (predicted.length === 0) return 1;
  // For each predicted group: its size and the one true id all its lines share (null when mixed).
  const groups = new Map<string, { size: number; truth: string | null }>();
  const truthSize = new Map<string, number>();
  for (let i = 0; i < predicted.length; i++) {
    const t = truth[i]!;
    truthSize.set(t, (truthSize.get(t) ?? 0) + 1);
    const g = groups.get(predicted[i]!);
    if (!g) groups.set(predicted[i]!, { size: 1, truth: t });
    else {
      g.size++;
      if (g.truth !== t) g.truth = null;
    }
  }
  let correct = 0;
  for (const g of groups.values()) if (g.truth !== null && truthSize.get(g.truth) === g.size) correct += g.size;
  return correct / predicted.length;
}
