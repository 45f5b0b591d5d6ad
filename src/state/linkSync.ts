/**
 * The link on the page: the address's hash follows the run (written with replaceState at most
 * twice a second, so the history is not filled with entries), an opened link is replayed by the
 * engine, and Copy link puts it on the clipboard. The format is link.ts's.
 */
import { chapterById } from '../chapters';
import { BACKENDS } from '../engine/config';
import type { CompareRequest } from '../engine/compareMethods';
import { decodeLink, describeRejected, encodeLink, type LinkState } from './link';
import { analyses, requestComparison } from './analyses';
import { engine, onReplayEnded } from './engine';
import { runLog } from './runLog';
import { showRun } from './scenes';
import { linkedSweep, runLinkedSweep, sweeps } from './sweeps';
import { pushNotice, useApp } from './store';

/** The hash is rewritten this long after the first change of a burst. */
const WRITE_DELAY_MS = 500;
/**
 * While the engine works (Train changes the log at every update) the hash is rewritten at most
 * this often: a replaceState cost 5–17 ms of the page's main thread under training load here.
 */
const BUSY_WRITE_DELAY_MS = 5000;

/** A link is being replayed: the hash keeps the opened link until the replay has ended. */
let replaying = false;
/** A link was opened on this page (a saved session is then offered only on a reload of the tab). */
let opened = false;

export function linkOpened(): boolean {
  return opened;
}

/** The link of the run on screen, or why there is none. */
export function currentLink(): { link: LinkState } | { problem: string } {
  const { base, entries, full } = runLog.getState();
  if (!base) return { problem: 'the network is not built yet' };
  if (base.continued)
    return {
      problem: `this run continues ${base.continued}, whose weights a link cannot carry`,
    };
  if (full) return { problem: 'its action log is longer than a link holds' };
  const { chapter, scene, backend } = useApp.getState();
  const ran = (BACKENDS as readonly string[]).includes(backend) && backend !== 'auto';
  const sweep = linkedSweep();
  return {
    link: {
      config: base.config,
      backend: ran ? (backend as LinkState['backend']) : null,
      chapter,
      scene,
      log: entries,
      ...(sweep ? { sweep } : {}),
      compare: analyses.getState().compareRequest,
    },
  };
}

function writeHash(): void {
  if (replaying || useApp.getState().busy?.kind === 'replay') return;
  const current = currentLink();
  const { pathname, search } = location;
  const hash = 'link' in current ? `#${encodeLink(current.link)}` : '';
  if (location.hash !== hash)
    history.replaceState(history.state, '', `${pathname}${search}${hash}`);
}

/**
 * Open the link in `hash`: its configuration, chapter and scene on the page, and its action log
 * replayed by the engine (with progress; Stop interrupts it). Rejected fields are named in a
 * notice. Returns false when the hash holds no link (nothing was changed).
 */
export function openLink(hash: string): boolean {
  const { link, rejected } = decodeLink(hash);
  if (rejected.length)
    pushNotice({
      level: 'warning',
      key: 'link',
      text: `Not used from the link (defaults instead): ${describeRejected(rejected)}.`,
    });
  if (!link) return false;
  const { sweep, compare } = link;
  // A sweep runs from the replayed run's configuration once the replay has ended; a comparison
  // runs again on the replayed network, in compare mode.
  const after =
    sweep || compare
      ? () => {
          if (sweep) runLinkedSweep(sweep);
          if (compare) openComparison(compare);
        }
      : undefined;
  openRun(link, after);
  return true;
}

/**
 * Show `link`'s configuration, chapter and scene, and have the engine build it from its seed and
 * replay its log. `replayed` runs once the replay has ended (finished or stopped).
 */
export function openRun(link: LinkState, replayed?: () => void): void {
  const config = link.backend ? { ...link.config, backend: link.backend } : link.config;
  const chapter = chapterById(link.chapter);
  opened = true;
  replaying = true;
  runLog.setState({ base: null, entries: [], full: false });
  showRun({
    config,
    chapterConfig: config,
    preset: chapter?.base.preset ?? null,
    chapter: chapter?.id ?? null,
    scene: link.scene,
  });
  replayId++;
  afterReplay = replayed ?? null;
  engine().send({ type: 'replay', id: replayId, config, log: link.log });
}

/** Show compare mode (its view, enlarged) and run `request` there. */
function openComparison(request: CompareRequest): void {
  useApp.setState((s) => ({
    hidden: s.hidden.filter((h) => h !== 'compare'),
    enlarged: 'compare',
  }));
  requestComparison(request);
}

/** The replay asked for last, and what to do once it has ended. */
let replayId = 0;
let afterReplay: (() => void) | null = null;

/** Another run replaces the one being replayed (a restored session): its end is not news. */
export function abandonReplay(): void {
  replayId++;
  replaying = false;
  afterReplay = null;
}

/** The engine says replay `id` has ended (engine.ts forwards its message). */
export function replayEnded(id: number, done: number, total: number): void {
  if (id !== replayId) return;
  replaying = false;
  if (done < total)
    pushNotice({
      level: 'info',
      key: 'replay',
      text: `Replay stopped after ${done} of ${total} actions: the state is the sender's as it was then.`,
    });
  const then = afterReplay;
  afterReplay = null;
  then?.();
  writeSoon();
}

/** Keep the hash in step with the run; open links pasted into this tab. Returns the unsubscribe. */
let writeSoon: () => void = () => undefined;

export function startLinkSync(): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let due = 0;
  // At most one write per interval, and never more than an interval behind (Play changes the
  // log on every tick); a shorter interval (the job has ended) brings a pending write forward.
  const later = () => {
    const delay = useApp.getState().busy ? BUSY_WRITE_DELAY_MS : WRITE_DELAY_MS;
    if (timer && due <= performance.now() + delay) return;
    if (timer) clearTimeout(timer);
    due = performance.now() + delay;
    timer = setTimeout(() => {
      timer = null;
      writeHash();
    }, delay);
  };
  writeSoon = later;
  onReplayEnded(replayEnded);
  const offLog = runLog.subscribe(later);
  const offSweeps = sweeps.subscribe((s, prev) => {
    if (s.plan !== prev.plan || s.form.metric !== prev.form.metric) later();
  });
  const offCompare = analyses.subscribe((s, prev) => {
    if (s.compareRequest !== prev.compareRequest) later();
  });
  const offApp = useApp.subscribe((s, prev) => {
    if (
      s.chapter !== prev.chapter ||
      s.scene !== prev.scene ||
      s.backend !== prev.backend ||
      s.busy?.kind !== prev.busy?.kind
    )
      later();
  });
  // replaceState fires no hashchange: this is a link pasted or edited in the address bar.
  const onHashChange = () => void openLink(location.hash);
  window.addEventListener('hashchange', onHashChange);
  return () => {
    offLog();
    offSweeps();
    offCompare();
    offApp();
    window.removeEventListener('hashchange', onHashChange);
    if (timer) clearTimeout(timer);
  };
}

/** Copy the run's link to the clipboard (the address bar holds it too). */
export async function copyLink(): Promise<void> {
  if (replaying) {
    pushNotice({
      level: 'info',
      key: 'copy-link',
      text: 'The opened link is still being replayed: copy the link when it has finished (or Stop it).',
    });
    return;
  }
  const current = currentLink();
  if (!('link' in current)) {
    pushNotice({
      level: 'warning',
      key: 'copy-link',
      text: `No link for this run: ${current.problem}. Export the model instead.`,
    });
    return;
  }
  const hash = `#${encodeLink(current.link)}`;
  const url = `${location.origin}${location.pathname}${location.search}${hash}`;
  history.replaceState(history.state, '', url);
  const actions = current.link.log.length;
  try {
    await navigator.clipboard.writeText(url);
    pushNotice({
      level: 'info',
      key: 'copy-link',
      text: `Link copied: it replays this run (${actions} action${actions === 1 ? '' : 's'}) from its seed.`,
    });
  } catch {
    pushNotice({
      level: 'info',
      key: 'copy-link',
      text: 'The clipboard is not available here: the link is in the address bar.',
    });
  }
}
