// The stage's money, the same for every engine: the tool loops check it after each turn, Claude Code
// gets it as --max-budget-usd, and a stage handed nothing makes no model call at all.
import type { Usage } from '../../api/types.js';
import { emptyUsage } from '../pricing.js';
import type { Engine, EngineRequest, EngineResult } from './types.js';

/** Whether a stage that set a budget has spent it; no budget is no cap. */
export function overBudget(usage: Usage, budgetUSD: number | undefined): boolean {
  return budgetUSD !== undefined && usage.costUSD >= budgetUSD;
}

/**
 * A stage handed a budget of $0 or less (the task's maxCostUSD is used up) ends Failed/Budget before
 * its engine starts: Claude Code refuses such a --max-budget-usd, and the tool loops would only
 * notice after a first paid turn.
 */
export function withBudget(engine: Engine): Engine {
  return (req: EngineRequest): Promise<EngineResult> => {
    const budget = req.model.budgetUSD;
    if (budget === undefined || budget > 0) return engine(req);
    return Promise.resolve({ outcome: 'Failed', reason: 'Budget', summary: `not started: the stage budget of $${budget} is spent`, finalText: '', usage: emptyUsage(), turns: 0 });
  };
}
