// The driving commands on their own (no tfjs), so the Planner API (`planner.ts`) loads quickly in plugin workers.

/** The driving commands, in the order of the candidate thirds (candidates are sorted by final x, left first). */
export const PLANNING_COMMANDS = ['LEFT', 'FORWARD', 'RIGHT'] as const;
export type PlanningCommand = (typeof PLANNING_COMMANDS)[number];
