import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, getJson, onSignedOut, postJson, setCsrfToken } from './api/client';
import { closeLive } from './api/live';
import type { Me } from './api/types';
import { ApprovalsPage } from './pages/approvals-page';
import { AuditPage } from './pages/audit-page';
import { EnvironmentsPage } from './pages/environments-page';
import { RollbackPage } from './pages/rollback-page';
import { RunPage } from './pages/run-page';
import { RunsPage } from './pages/runs-page';
import { onLinkClick, useLocation, type Location } from './router';
import { ErrorNotice, Loading } from './ui/notice';

const NAV = [
  { href: '/', label: 'Runs', match: (p: string) => p === '/' || p.startsWith('/runs') },
  { href: '/environments', label: 'Environments', match: (p: string) => p === '/environments' },
  { href: '/approvals', label: 'Approvals', match: (p: string) => p === '/approvals' },
  { href: '/rollback', label: 'Rollback', match: (p: string) => p === '/rollback' },
  { href: '/audit', label: 'Audit', match: (p: string) => p === '/audit' },
];

function route(location: Location, me: Me): { title: string; view: preact.JSX.Element } {
  const { path } = location;
  const run = /^\/runs\/([A-Za-z0-9]{1,64})$/.exec(path);
  if (run) return { title: `Run ${run[1]}`, view: <RunPage key={run[1]} id={run[1]!} me={me} /> };
  switch (path) {
    case '/':
    case '/runs':
      return { title: 'Runs', view: <RunsPage location={location} /> };
    case '/environments':
      return { title: 'Environments', view: <EnvironmentsPage me={me} /> };
    case '/approvals':
      return { title: 'Approvals', view: <ApprovalsPage /> };
    case '/rollback':
      return { title: 'Roll back', view: <RollbackPage me={me} location={location} /> };
    case '/audit':
      return { title: 'Audit', view: <AuditPage location={location} /> };
    default:
      return {
        title: 'Not found',
        view: (
          <section>
            <h1>Not found</h1>
            <p>
              No console page at <code>{path}</code>. <a href="/">Go to the runs</a>.
            </p>
          </section>
        ),
      };
  }
}

function roleSummary(me: Me): string {
  if (me.roles.admin) return 'admin';
  const parts: string[] = [];
  if (me.roles.approverOf.length) parts.push(`approver: ${me.roles.approverOf.join(', ')}`);
  if (me.roles.operatorOf.length) parts.push(`operator: ${me.roles.operatorOf.join(', ')}`);
  return parts.length ? parts.join('; ') : 'viewer';
}

function SignIn({ ended }: { ended: boolean }) {
  useEffect(() => {
    document.title = 'Sign in · Shipgate';
  }, []);
  return (
    <main id="main" class="sign-in">
      <h1>Shipgate</h1>
      {ended ? <p role="status">Your session ended. Sign in again to continue.</p> : null}
      <p>Releases, environments, approvals and rollbacks, for the people the platform policy names.</p>
      <a class="button primary" href="/auth/login">
        Sign in with GitHub
      </a>
    </main>
  );
}

function Shell({ me, onLogout }: { me: Me; onLogout: () => void }) {
  const location = useLocation();
  const { title, view } = route(location, me);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    document.title = `${title} · Shipgate`;
    // After a client-side navigation, keyboard and screen-reader users start at the new content.
    if (first.current) first.current = false;
    else main.current?.focus();
  }, [location.path]);
  const [busy, setBusy] = useState(false);
  const logout = async () => {
    setBusy(true);
    try {
      await postJson('/auth/logout');
    } catch {
      // Signed out or not, the page forgets the session.
    }
    closeLive();
    onLogout();
  };
  return (
    <div onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          Shipgate
        </a>
        <nav aria-label="Console">
          <ul>
            {NAV.map((item) => (
              <li key={item.href}>
                <a href={item.href} aria-current={item.match(location.path) ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          {me.avatarUrl ? (
            <img
              src={me.avatarUrl}
              alt=""
              width={24}
              height={24}
              // Offline or blocked (GitHub unreachable): no broken-image icon; the login says who.
              onError={(e) => ((e.currentTarget as HTMLImageElement).hidden = true)}
            />
          ) : null}
          <span>
            <strong data-testid="login">{me.login}</strong>
            <span class="sub"> {roleSummary(me)}</span>
          </span>
          <button type="button" onClick={() => void logout()} disabled={busy}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {me.roles.viewer || me.roles.admin ? (
          view
        ) : (
          <section>
            <h1>No access yet</h1>
            <p>
              You are signed in as <strong>{me.login}</strong>, but the platform policy does not name you as a
              viewer, approver or operator. Ask the platform team to add your login, org or team under{' '}
              <code>access</code> in <code>shipgate/policy.yml</code> in the environment repository.
            </p>
          </section>
        )}
      </main>
    </div>
  );
}

function App() {
  const [me, setMe] = useState<Me | null>();
  const [error, setError] = useState<Error>();
  const [ended, setEnded] = useState(false);
  useEffect(() => {
    getJson<Me>('/api/me').then(
      (value) => {
        setCsrfToken(value.csrfToken);
        setMe(value);
      },
      (err: Error) => {
        if (err instanceof ApiError && err.status === 401) setMe(null);
        else setError(err);
      },
    );
    return onSignedOut(() => {
      closeLive();
      setEnded(true);
      setMe(null);
    });
  }, []);
  if (error) {
    return (
      <main id="main">
        <ErrorNotice error={error} what="reach Shipgate" />
      </main>
    );
  }
  if (me === undefined) return <Loading what="Shipgate" />;
  if (me === null) return <SignIn ended={ended} />;
  return (
    <Shell
      me={me}
      onLogout={() => {
        setEnded(false);
        setMe(null);
      }}
    />
  );
}

render(<App />, document.getElementById('app')!);
