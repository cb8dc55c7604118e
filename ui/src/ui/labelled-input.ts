// A labelled text input, as every form of the views has them.

import { h } from "../dom";

export interface LabelledInput {
  row: HTMLElement;
  input: HTMLInputElement;
}

/**
 * A labelled input with the id `id`: its `hint`, if any, shown under it and describing
 * it, and so does the element `describedBy` names (a form's error line). Typing clears
 * the input's aria-invalid.
 */
export function labelledInput(
  id: string,
  label: string,
  testid: string,
  attrs: Record<string, string>,
  hint?: string,
  describedBy?: string,
): LabelledInput {
  const hintId = hint ? `${id}-hint` : null;
  const described = [hintId, describedBy].filter((d) => d).join(" ");
  const input = h("input", { id, class: "input", "data-testid": testid, "aria-describedby": described || null, ...attrs });
  input.addEventListener("input", () => input.removeAttribute("aria-invalid"));
  const row = h(
    "div",
    { class: "field" },
    h("label", { for: id, class: "label" }, label),
    input,
    hint && hintId ? h("p", { class: "hint", id: hintId }, hint) : null,
  );
  return { row, input };
}
