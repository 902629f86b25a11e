"""Bot API methods with files: photos, documents, getFile."""

from __future__ import annotations

from emulators.telegram._api_base import ApiBase
from emulators.telegram._messages import (
    image_size,
    normalize,
    photo_sizes,
)
from emulators.telegram._state import JSON, StoredFile
from emulators.telegram._wire import UploadedFile, bad_request


class FileMethods(ApiBase):
    # -- files -------------------------------------------------------------------------------

    def input_file(
        self, params: JSON, files: dict[str, UploadedFile], field: str
    ) -> UploadedFile | StoredFile:
        """The upload, or the stored file a file_id/URL refers to."""
        value = params.get(field)
        if field in files:
            return files[field]
        if isinstance(value, str) and value.startswith("attach://"):
            attached = files.get(value.removeprefix("attach://"))
            if attached is None:
                raise bad_request(f"file must be uploaded as {value.removeprefix('attach://')}")
            return attached
        if not value:
            raise bad_request(f"there is no {field} in the request")
        if value in self.world.files:
            return self.world.files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            # The fake cannot download, so the file is known by its URL only.
            return self.store(None, name=value.rsplit("/", 1)[-1] or None, mime=None, kind=field)
        raise bad_request("wrong file identifier/HTTP URL specified")

    def store(
        self, data: bytes | None, *, name: str | None, mime: str | None, kind: str
    ) -> StoredFile:
        file_id = self.world.new_id("AgACAgIAAxkBAAI" if kind == "photo" else "BQACAgIAAxkBAAI")
        folder = "photos" if kind == "photo" else "documents"
        return self.world.add_file(
            StoredFile(
                file_id=file_id,
                file_unique_id=self.world.new_id("AQAD"),
                data=data,
                file_path=f"{folder}/file_{len(self.world.files)}{_suffix(name)}",
                file_name=name,
                mime_type=mime,
            )
        )

    async def send_photo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self.writable_chat(params)
        source = self.input_file(params, files, "photo")
        if isinstance(source, UploadedFile):
            width, height = image_size(source.data)
            stored = self.store(source.data, name=source.filename, mime=source.content_type,
                                kind="photo")  # fmt: skip
            stored.width, stored.height = width, height
        else:
            stored = source
            if stored.width is None:  # a URL: pretend Telegram fetched a typical picture
                stored.width, stored.height = 800, 800
        content: JSON = {"photo": photo_sizes(stored), **self.caption(params)}
        for size in content["photo"]:
            self.world.files.setdefault(size["file_id"], stored)  # thumbnails share the bytes
        return self.new_message(chat, content, self.markup(chat, params))

    async def send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self.writable_chat(params)
        source = self.input_file(params, files, "document")
        if isinstance(source, UploadedFile):
            stored = self.store(source.data, name=source.filename, mime=source.content_type,
                                kind="document")  # fmt: skip
        else:
            stored = source
        document = normalize(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": stored.file_name,
                "mime_type": stored.mime_type,
                "file_size": stored.size,
            }
        )
        content = {"document": document, **self.caption(params)}
        return self.new_message(chat, content, self.markup(chat, params))

    async def get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        stored = self.world.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        return normalize(
            {
                "file_id": params["file_id"],
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.size,
                "file_path": stored.file_path,
            }
        )


def _suffix(name: str | None) -> str:
    if name and "." in name:
        return "." + name.rsplit(".", 1)[-1][:8]
    return ""
