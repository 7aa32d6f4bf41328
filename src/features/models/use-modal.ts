import { useEffect, useRef } from 'react';

/** A <dialog> shown modal while the component is mounted (Esc and the backdrop's inertness come with it). */
export function useModal() {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    element?.showModal();
    return () => element?.close();
  }, []);
  return dialog;
}
