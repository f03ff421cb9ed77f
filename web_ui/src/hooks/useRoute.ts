import { useCallback, useEffect, useState } from 'react';
import { parseRoute, routeHash, type Route } from '../lib/route';

/** The current route (from location.hash, following the browser's back and forward) and a
 * function that goes to another one. */
export function useRoute(): [Route, (route: Route) => void] {
  const [route, setRoute] = useState<Route>(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  const go = useCallback((next: Route) => {
    window.location.hash = routeHash(next);
  }, []);
  return [route, go];
}
