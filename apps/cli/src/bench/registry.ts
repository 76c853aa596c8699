import { ScoreqError } from '@scoreq/contracts';
import type { Scenario } from './scenario.js';
import { bulkLarge } from './scenarios/bulk-large.js';
import { bulkLatency } from './scenarios/bulk-latency.js';
import { bulkSmall } from './scenarios/bulk-small.js';
import { httpScenario } from './scenarios/http.js';
import { realtimeLarge } from './scenarios/realtime-large.js';
import { realtimeSmall } from './scenarios/realtime-small.js';

/**
 * Every scenario `scoreq bench` knows, one file each under `scenarios/`. A new scenario
 * (`latency`, `bulk-small`, …) is a new file exporting a {@link Scenario}, added here.
 */
const SCENARIOS: readonly Scenario[] = [realtimeSmall, realtimeLarge, bulkSmall, bulkLarge, bulkLatency, httpScenario];

/** Names that run several scenarios, in order. */
const GROUPS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  realtime: ['realtime-small', 'realtime-large'],
  bulk: ['bulk-small', 'bulk-large', 'bulk-latency'],
});

/** What `scoreq bench` runs when no scenario is named. */
export const DEFAULT_SCENARIO = 'realtime';

/** Scenario and group names, for help texts and error messages. */
export function scenarioNames(): { scenarios: string[]; groups: string[] } {
  return { scenarios: SCENARIOS.map((s) => s.name), groups: Object.keys(GROUPS) };
}

/** One help line per scenario and group. */
export function describeScenarios(): string[] {
  return [...Object.entries(GROUPS).map(([name, members]) => `${name}: ${members.join(' then ')}`), ...SCENARIOS.map((s) => `${s.name}: ${s.description}`)];
}

/** The scenarios a name stands for: itself, or the members of a group. */
export function resolveScenarios(name: string): Scenario[] {
  const names = GROUPS[name] ?? [name];
  return names.map((n) => {
    const scenario = SCENARIOS.find((s) => s.name === n);
    if (!scenario) {
      const known = scenarioNames();
      throw new ScoreqError('INVALID_OPTION', `unknown bench scenario ${JSON.stringify(n)}; known: ${[...known.groups, ...known.scenarios].join(', ')}`, {
        option: 'scenario',
      });
    }
    return scenario;
  });
}
