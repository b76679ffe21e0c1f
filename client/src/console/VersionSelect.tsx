/** A labelled choice of a draft's version number, as the history and the reactions
 *  comparison both ask for two of them. */
export function VersionSelect(props: {
  id: string;
  testid: string;
  label: string;
  value: string;
  versions: readonly number[];
  onChange: (value: string) => void;
}) {
  return (
    <div>
      <label for={props.id}>{props.label}</label>
      <select
        id={props.id}
        data-testid={props.testid}
        value={props.value}
        onChange={(e) => props.onChange(e.currentTarget.value)}
      >
        {props.versions.map((v) => (
          <option key={v} value={String(v)}>
            {v}
          </option>
        ))}
      </select>
    </div>
  );
}
