import { dismissNotice, useApp } from '../../state/store';
import { ACTIONS } from '../actions';

export function HelpOverlay() {
  const open = useApp((s) => s.helpOpen);
  if (!open) return null;
  return (
    <div
      className="overlay"
      role="dialog"
      aria-modal="true"
      aria-labelledby="help-title"
      data-testid="help"
    >
      <div className="overlay-card">
        <h2 id="help-title">Keyboard shortcuts</h2>
        <table>
          <tbody>
            {ACTIONS.map((a) => (
              <tr key={a.id}>
                <th scope="row">
                  <kbd>{a.keyLabel}</kbd>
                </th>
                <td>
                  <strong>{a.label}</strong> — {a.description}
                </td>
              </tr>
            ))}
            <tr>
              <th scope="row">
                <kbd>Tab</kbd>
              </th>
              <td>Move between controls; every view and button is reachable without a mouse</td>
            </tr>
          </tbody>
        </table>
        <button type="button" autoFocus onClick={() => useApp.setState({ helpOpen: false })}>
          Close <kbd>Esc</kbd>
        </button>
      </div>
    </div>
  );
}

export function Notices() {
  const notices = useApp((s) => s.notices);
  return (
    <div className="notices" aria-live="assertive">
      {notices.map((n) => (
        <div
          key={n.id}
          className={`notice ${n.level}`}
          data-testid={n.key === 'link' ? 'link-notice' : 'notice'}
          data-key={n.key}
          role={n.level === 'error' ? 'alert' : 'status'}
        >
          <span>{n.text}</span>
          {n.action && (
            <button
              type="button"
              className="notice-action"
              data-testid="notice-action"
              onClick={() => {
                dismissNotice(n.id);
                n.action!.run();
              }}
            >
              {n.action.label}
            </button>
          )}
          <button type="button" aria-label="Dismiss" onClick={() => dismissNotice(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
