import { useRef, useState } from 'react';
import { learningCsv, tracesCsv } from '../../state/csv';
import { simView } from '../../state/simView';
import { runFileStem } from '../../state/modelTransfer';
import { pushNotice, type ViewId } from '../../state/store';
import { download, exportsAsSvg, viewPng, viewSvg } from '../exportView';

/** The views whose data (not only their picture) can be saved, and how. */
const DATA: Partial<Record<ViewId, { label: string; csv: () => string }>> = {
  traces: { label: 'Traces (CSV)', csv: () => tracesCsv(simView.getState().traces) },
  learning: { label: 'Learning curves (CSV)', csv: () => learningCsv(simView.getState().learning) },
};

const fileName = (view: ViewId, ext: string): string => `${runFileStem(view)}.${ext}`;

/** A view's export menu: its picture as SVG or PNG (2×, for slides), its data as CSV. */
export function ViewExport({ view, title }: { view: ViewId; title: string }) {
  const menu = useRef<HTMLDetailsElement>(null);
  const [svg, setSvg] = useState(false);
  const panel = () => menu.current?.closest<HTMLElement>('.panel-view') ?? null;
  const run = async (what: string, work: () => Promise<void> | void) => {
    if (menu.current) menu.current.open = false;
    try {
      await work();
    } catch (e) {
      pushNotice({
        level: 'error',
        key: 'export',
        text: `Could not export ${what}: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  };
  const data = DATA[view];
  return (
    <details
      className="view-export"
      ref={menu}
      onToggle={() => {
        const p = panel();
        if (p && menu.current?.open) setSvg(exportsAsSvg(p));
      }}
    >
      <summary
        aria-label={`Export ${title}`}
        title={`Export ${title}`}
        data-testid={`export-${view}`}
      >
        ⤓
      </summary>
      <div className="view-export-menu" role="menu">
        {svg && (
          <button
            type="button"
            role="menuitem"
            data-testid={`export-${view}-svg`}
            onClick={() =>
              void run('SVG', () => {
                const p = panel();
                if (p) download(viewSvg(p), fileName(view, 'svg'), 'image/svg+xml');
              })
            }
          >
            SVG
          </button>
        )}
        <button
          type="button"
          role="menuitem"
          data-testid={`export-${view}-png`}
          onClick={() =>
            void run('PNG', async () => {
              const p = panel();
              if (p) download(await viewPng(p, 2), fileName(view, 'png'));
            })
          }
        >
          PNG (2×)
        </button>
        {data && (
          <button
            type="button"
            role="menuitem"
            data-testid={`export-${view}-csv`}
            onClick={() =>
              void run('CSV', () => download(data.csv(), fileName(view, 'csv'), 'text/csv'))
            }
          >
            {data.label}
          </button>
        )}
      </div>
    </details>
  );
}
