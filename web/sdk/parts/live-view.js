// The supervisor's live view (supervisorWatch() and SUPERVISOR_STATS) as the SDK hands it out:
// always arrays and objects, even if the server left one out.

export function liveView({ queues, agents, agentsByState, calls, at } = {}) {
  const view = {
    queues: Array.isArray(queues) ? queues : [],
    agents: Array.isArray(agents) ? agents : [],
    agentsByState: agentsByState && typeof agentsByState === 'object' ? agentsByState : {},
    calls: Array.isArray(calls) ? calls : [],
  };
  if (typeof at === 'number') view.at = at;
  return view;
}
