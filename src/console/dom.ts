/** Small DOM helpers: the console builds its page with plain elements, no framework. */

type Child = Node | string | null | undefined | false;

/** An element with attributes and children; text children are set as text, never parsed as HTML. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) if (child) element.append(child);
  return element;
}

/** A labelled form control. */
export function field(label: string, control: HTMLElement): HTMLLabelElement {
  return el('label', { class: 'field' }, el('span', {}, label), control);
}

/** A text input. */
export function textInput(
  name: string,
  value: string,
  attributes: Record<string, string> = {},
): HTMLInputElement {
  return el('input', { type: 'text', name, value, spellcheck: 'false', autocomplete: 'off', ...attributes });
}

/** A select whose options are [value, label] pairs. */
export function select(
  name: string,
  options: ReadonlyArray<readonly [string, string]>,
  value: string,
): HTMLSelectElement {
  const element = el('select', { name });
  for (const [optionValue, label] of options) element.append(el('option', { value: optionValue }, label));
  element.value = value;
  return element;
}
