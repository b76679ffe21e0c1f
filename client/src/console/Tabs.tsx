/**
 * WAI-ARIA tabs: one tab stop for the list, arrow keys (either orientation), Home and End
 * move between tabs and select them; the panel follows.
 */
import type { ComponentChildren } from "preact";
import { useRef } from "preact/hooks";

export interface TabSpec {
  id: string;
  label: ComponentChildren;
}

export interface TabsProps {
  /** Prefix for element ids and test ids, unique on the page. */
  name: string;
  label: string;
  tabs: TabSpec[];
  selected: string;
  onSelect(id: string): void;
  vertical?: boolean;
  children: ComponentChildren;
}

export function Tabs({ name, label, tabs, selected, onSelect, vertical, children }: TabsProps) {
  const list = useRef<HTMLDivElement>(null);
  const index = Math.max(0, tabs.findIndex((t) => t.id === selected));

  function go(to: number) {
    const n = tabs.length;
    const next = tabs[((to % n) + n) % n];
    if (!next) return;
    onSelect(next.id);
    const el = list.current?.querySelector<HTMLElement>(`#${name}-tab-${next.id}`);
    el?.focus();
  }

  function onKeyDown(e: KeyboardEvent) {
    switch (e.key) {
      case "ArrowRight":
      case "ArrowDown":
        go(index + 1);
        break;
      case "ArrowLeft":
      case "ArrowUp":
        go(index - 1);
        break;
      case "Home":
        go(0);
        break;
      case "End":
        go(tabs.length - 1);
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  return (
    <div class={`tabs${vertical ? " tabs-vertical" : ""}`}>
      <div
        ref={list}
        role="tablist"
        aria-label={label}
        aria-orientation={vertical ? "vertical" : "horizontal"}
        class="tab-list"
        onKeyDown={onKeyDown}
      >
        {tabs.map((t) => {
          const on = t.id === selected;
          return (
            <button
              type="button"
              role="tab"
              key={t.id}
              id={`${name}-tab-${t.id}`}
              aria-selected={on}
              aria-controls={`${name}-panel-${t.id}`}
              tabIndex={on ? 0 : -1}
              class="tab"
              data-testid={`${name}-tab-${t.id}`}
              onClick={() => onSelect(t.id)}
            >
              {t.label}
            </button>
          );
        })}
      </div>
      <div
        role="tabpanel"
        id={`${name}-panel-${selected}`}
        aria-labelledby={`${name}-tab-${selected}`}
        class="tab-panel"
        tabIndex={0}
        data-testid={`${name}-panel-${selected}`}
      >
        {children}
      </div>
    </div>
  );
}
