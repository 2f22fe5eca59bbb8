// The pages' message lists: newest first, each line stamped with the local time and marked with
// its kind (li[data-kind], which the pages' CSS colours and the tests read).

/** A function `(kind, text)` that adds a notice at the top of `list`, keeping the newest `keep`. */
export function noticeList(list, keep) {
  return (kind, text) => {
    const li = document.createElement('li');
    li.dataset.kind = kind;
    const time = document.createElement('time');
    time.textContent = new Date().toLocaleTimeString();
    li.append(time, ' ', text); // text, never markup: notices quote what people typed
    list.prepend(li);
    while (list.children.length > keep) list.lastElementChild.remove();
  };
}
