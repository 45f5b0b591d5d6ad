import { useState } from 'react';
import { VIEW_IDS, useApp, type ViewId } from '../../state/store';
import { EMBED_CONTROLS, type EmbedControl } from '../query';
import { VIEWS } from './Stage';

/** The iframe code for this run, with the chosen views and controls. */
export function iframeCode(
  views: ViewId[],
  controls: EmbedControl[],
  size: [number, number],
): string {
  const url = new URL(location.href);
  url.searchParams.set('embed', '1');
  url.searchParams.set('views', views.join(','));
  url.searchParams.set('controls', controls.join(','));
  const src = url.href.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  return `<iframe src="${src}" width="${size[0]}" height="${size[1]}" title="LCP Lab" style="border:0" loading="lazy"></iframe>`;
}

/** Share → Embed: choose views and controls, copy the iframe code. */
export function EmbedDialog({ onClose }: { onClose: () => void }) {
  const hidden = useApp((s) => s.hidden);
  const [views, setViews] = useState<ViewId[]>(
    VIEW_IDS.filter((v) => !hidden.includes(v)).slice(0, 2),
  );
  const [controls, setControls] = useState<EmbedControl[]>(['play', 'control', 'learn', 'reset']);
  const [size, setSize] = useState<[number, number]>([800, 450]);
  const [copied, setCopied] = useState(false);
  const code = iframeCode(views, controls, size);
  const toggle = <T,>(list: T[], item: T): T[] =>
    list.includes(item) ? list.filter((x) => x !== item) : [...list, item];
  return (
    <div
      className="overlay"
      role="dialog"
      aria-modal="true"
      aria-labelledby="embed-title"
      data-testid="embed-dialog"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <div className="overlay-card embed-dialog">
        <h2 id="embed-title">Embed this run</h2>
        <fieldset>
          <legend>Views</legend>
          {VIEW_IDS.map((v) => (
            <label key={v}>
              <input
                type="checkbox"
                checked={views.includes(v)}
                onChange={() => setViews(toggle(views, v))}
              />{' '}
              {VIEWS[v].title}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Controls</legend>
          {EMBED_CONTROLS.map((c) => (
            <label key={c}>
              <input
                type="checkbox"
                checked={controls.includes(c)}
                onChange={() => setControls(toggle(controls, c))}
              />{' '}
              {c}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Size (pixels)</legend>
          <label>
            width{' '}
            <input
              type="number"
              min={240}
              max={4000}
              value={size[0]}
              onChange={(e) => setSize([Number(e.target.value) || 800, size[1]])}
            />
          </label>{' '}
          <label>
            height{' '}
            <input
              type="number"
              min={200}
              max={4000}
              value={size[1]}
              onChange={(e) => setSize([size[0], Number(e.target.value) || 450])}
            />
          </label>
        </fieldset>
        <label className="embed-code">
          Paste this into a slide or a course page:
          <textarea
            readOnly
            rows={4}
            value={code}
            data-testid="embed-code"
            onFocus={(e) => e.currentTarget.select()}
          />
        </label>
        <p>
          The page that embeds it can drive it with postMessage: see docs/embed.md in the project.
        </p>
        <div className="dialog-buttons">
          <button
            type="button"
            onClick={() =>
              void navigator.clipboard
                .writeText(code)
                .then(() => setCopied(true))
                .catch(() => setCopied(false))
            }
          >
            {copied ? 'Copied' : 'Copy code'}
          </button>
          <button type="button" autoFocus onClick={onClose}>
            Close <kbd>Esc</kbd>
          </button>
        </div>
      </div>
    </div>
  );
}
