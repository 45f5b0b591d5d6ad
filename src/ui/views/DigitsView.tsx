/**
 * The digits view (MNIST chapters): test accuracy after each epoch and the last epoch's
 * confusion matrix (confusionDraw), and a pad to draw a digit on, with the network's free and
 * controlled response to it (responseDraw). The responses are computed by the worker.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useStore } from 'zustand';
import { digitsStore } from '../../state/digits';
import { engine } from '../../state/engine';
import { simView } from '../../state/simView';
import type { DigitResponse } from '../../worker/protocol';
import { hostSvg, type Size } from './common';
import { drawConfusion } from './confusionDraw';
import { digitDataUrl } from './digitImage';
import { DigitPad, type PadDigit } from './DigitPad';
import { drawResponse, responseEmptyText } from './responseDraw';

/** Draw into an SVG that fills `ref`'s element, again on resize and when `draw` changes. */
function useSvgDraw(
  ref: React.RefObject<HTMLDivElement | null>,
  draw: (svg: SVGSVGElement, size: Size) => void,
) {
  const drawRef = useRef(draw);
  const redraw = useRef<() => void>(() => undefined);
  useLayoutEffect(() => {
    const host = ref.current;
    if (!host) return;
    const run = () => {
      const r = host.getBoundingClientRect();
      const size = { width: Math.floor(r.width), height: Math.floor(r.height) };
      if (size.width > 0 && size.height > 0) drawRef.current(hostSvg(host), size);
    };
    redraw.current = run;
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(run) : null;
    ro?.observe(host);
    run();
    return () => ro?.disconnect();
  }, [ref]);
  useEffect(() => {
    drawRef.current = draw;
    redraw.current();
  }, [draw]);
}

type Status = 'idle' | 'waiting' | 'failed' | 'done';

export function DigitsView() {
  const evaluations = useStore(digitsStore, (s) => s.evaluations);
  const last = evaluations.length ? evaluations[evaluations.length - 1] : null;
  const [digit, setDigit] = useState<PadDigit | null>(null);
  const [target, setTarget] = useState<number | null>(null);
  const [response, setResponse] = useState<DigitResponse | null>(null);
  const [status, setStatus] = useState<{ status: Status; message: string }>({
    status: 'idle',
    message: '',
  });
  const request = useRef(0);
  const current = useRef<{ digit: PadDigit | null; target: number | null }>({
    digit: null,
    target: null,
  });

  /** Ask the worker for the response to the drawing (the newest answer wins). */
  const ask = useCallback((next: PadDigit | null, goal: number | null) => {
    current.current = { digit: next, target: goal };
    const id = ++request.current;
    if (!next) {
      setResponse(null);
      setStatus({ status: 'idle', message: '' });
      return;
    }
    setStatus((s) => (s.status === 'done' ? s : { status: 'waiting', message: '' }));
    engine()
      .digitResponse(next.pixels, goal)
      .then((r) => {
        if (id !== request.current) return;
        setResponse(r);
        setStatus({ status: 'done', message: '' });
      })
      .catch((e: unknown) => {
        if (id !== request.current) return;
        const message = e instanceof Error ? e.message : String(e);
        // A newer request took its place: its answer will come.
        if (message === 'superseded') return;
        setResponse(null);
        setStatus({ status: 'failed', message });
      });
  }, []);

  // New weights (an update, an epoch): the same drawing is asked about again.
  useEffect(() => {
    let version = simView.getState().weights?.version ?? -1;
    return simView.subscribe((state) => {
      const v = state.weights?.version ?? -1;
      if (v === version) return;
      version = v;
      const { digit: d, target: t } = current.current;
      if (d) ask(d, t);
    });
  }, [ask]);

  const confusionHost = useRef<HTMLDivElement>(null);
  const responseHost = useRef<HTMLDivElement>(null);
  useSvgDraw(
    confusionHost,
    useCallback((svg: SVGSVGElement, size: Size) => drawConfusion(svg, last, size), [last]),
  );
  const empty = status.status === 'done' ? '' : responseEmptyText(status.status, status.message);
  useSvgDraw(
    responseHost,
    useCallback(
      (svg: SVGSVGElement, size: Size) =>
        drawResponse(svg, status.status === 'done' ? response : null, size, empty),
      [response, status.status, empty],
    ),
  );

  return (
    <section
      data-testid="view-digits"
      aria-label="Digits: test accuracy, confusion matrix and a pad to draw on"
      className="view-section digits-view"
    >
      <div className="digits-accuracy" data-testid="test-accuracy" aria-live="polite">
        {evaluations.length
          ? 'Test accuracy by epoch: ' +
            evaluations.map((e) => `${e.epoch}: ${(e.accuracy * 100).toFixed(1)}%`).join(' · ')
          : 'Test accuracy: after the first epoch (Train 1 epoch, P).'}
      </div>
      <div className="digits-body">
        <div className="digits-pad-column">
          <DigitPad
            onDigit={(d) => {
              setDigit(d);
              ask(d, target);
            }}
          />
          <label className="digits-target">
            Control toward{' '}
            <select
              data-testid="digit-target"
              value={target === null ? 'auto' : String(target)}
              onChange={(e) => {
                const t = e.target.value === 'auto' ? null : Number(e.target.value);
                setTarget(t);
                ask(digit, t);
              }}
            >
              <option value="auto">its prediction</option>
              {Array.from({ length: 10 }, (_, i) => (
                <option key={i} value={i}>
                  class {i}
                </option>
              ))}
            </select>
          </label>
          {digit && (
            <img
              data-testid="digit-seen"
              className="digits-seen"
              alt="The drawing as the network reads it: cropped, scaled and centred like an MNIST digit"
              title="What the network reads: 28×28, centred like an MNIST digit"
              src={digitDataUrl(digit.pixels, 28, 28)}
              width={56}
              height={56}
            />
          )}
        </div>
        <div
          ref={responseHost}
          className="digits-plot"
          data-testid="digit-response"
          role="img"
          aria-label="Class probabilities at the free and the controlled equilibrium for the drawn digit"
        />
        <div
          ref={confusionHost}
          className="digits-plot"
          data-testid="confusion"
          role="img"
          aria-label="Confusion matrix of the test set after the last epoch: true class down, predicted class across"
        />
      </div>
    </section>
  );
}
