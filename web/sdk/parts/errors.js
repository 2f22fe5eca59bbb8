// Every error the SDK rejects with is an Error with a `code` (the protocol's string codes, the
// SDK's own, or TUICalling's numeric device codes): callers branch on the code, never on the text.

export function sdkError(code, message) {
  const err = new Error(message || String(code));
  err.code = code;
  return err;
}
