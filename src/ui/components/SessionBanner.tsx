import { useEffect, useState } from 'react';
import {
  forgetSession,
  loadSession,
  restoreSession,
  sessionTitle,
  type SavedSession,
} from '../../state/session';
import { userReloaded } from '../../isolation';
import { linkOpened } from '../../state/linkSync';
import { focusStage } from '../configEdits';

function ago(ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

/** On opening, the work of the last visit is offered back (it is never restored unasked). */
export function SessionBanner() {
  const [session, setSession] = useState<SavedSession | null>(null);
  useEffect(() => {
    // A link opened wins over the saved session, unless the user reloaded their own tab: then
    // the session (weights kept) is the faster way back than replaying the link.
    if (linkOpened() && !userReloaded()) return;
    let live = true;
    void loadSession().then((s) => {
      if (live) setSession(s);
    });
    return () => {
      live = false;
    };
  }, []);
  if (!session) return null;
  const title = sessionTitle(session);
  const updates = session.checkpoint.updates;
  return (
    <div className="session-banner" role="region" aria-label="Saved session" data-testid="session">
      <span>
        Continue where you left off? {title}, {updates} {updates === 1 ? 'update' : 'updates'},
        saved {ago(session.savedAt)}.
      </span>
      <button
        type="button"
        data-testid="session-restore"
        onClick={() => {
          restoreSession(session);
          setSession(null);
          focusStage();
        }}
      >
        Restore
      </button>
      <button
        type="button"
        data-testid="session-dismiss"
        onClick={() => {
          void forgetSession();
          setSession(null);
          focusStage();
        }}
      >
        Start fresh
      </button>
    </div>
  );
}
