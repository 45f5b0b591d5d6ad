import { useApp } from '../../state/store';
import type { ActionId } from '../actions';
import { ActionButton } from './ControlPanel';

/** The address of this run in the full app: the same link, without the embed parameters. */
export function fullAppUrl(): string {
  const url = new URL(location.href);
  for (const key of ['embed', 'views', 'controls']) url.searchParams.delete(key);
  return url.href;
}

/** Embed mode's one bar: the controls the embedding page chose and a way out to the full app. */
export function EmbedBar() {
  const controls = useApp((s) => s.embed?.controls ?? []);
  return (
    <nav className="embed-bar" aria-label="LCP Lab controls">
      {controls.map((id) => (
        <ActionButton key={id} id={id as ActionId} />
      ))}
      <a
        className="embed-open"
        data-testid="embed-open"
        href={fullAppUrl()}
        target="_blank"
        rel="noopener"
        // The run moves on after the first render: the link is written when it is followed.
        onClick={(e) => (e.currentTarget.href = fullAppUrl())}
      >
        Open in LCP Lab ↗
      </a>
    </nav>
  );
}
