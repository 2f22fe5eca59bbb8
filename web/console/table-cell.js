// A cell of the console's tables (calls today, the supervisor's agents, calls and recent calls):
// td.<cls> holding `text`, as text, never markup: names and notes come from people.

export function addCell(tr, cls, text) {
  const td = document.createElement('td');
  td.className = cls;
  td.textContent = text;
  tr.append(td);
  return td;
}
