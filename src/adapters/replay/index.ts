/** The replay adapter. */
export { ReplayScreen, type ReplayPace, type ReplayScreenOptions } from './replay-screen.js';
