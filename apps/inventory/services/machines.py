"""Machines and slots: configuration, device tokens, heartbeats and restocking."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.errors import Conflict, ValidationError
from apps.core.services import audit_record
from apps.inventory.models import DEFAULT_PAR_LEVEL, Machine, Product, RestockTask, Slot, StorageStock
from apps.inventory.services.stock import acting_user, locked_slot, stock_transfer_to_slot

RESTOCK_HIGH_PRIORITY_BELOW = 2


def device_token_hash(token: str) -> str:
    # The token is 32 random bytes, so a plain sha256 is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def machine_configure(*, code: str, name: str, location: str = "", status: str = Machine.Status.ACTIVE) -> Machine:
    """Create or update the machine with this code."""
    code = code.strip().upper()
    if not code:
        raise ValidationError(_("自販機コードを入力してください。"), details={"field": "code"})
    if status not in Machine.Status.values:
        raise ValidationError(_("状態が正しくありません。"), details={"field": "status"})
    machine, _created = Machine.objects.update_or_create(
        code=code, defaults={"name": name, "location": location, "status": status}
    )
    return machine


@transaction.atomic
def slot_configure(
    *,
    machine: Machine,
    code: str,
    product: Product | None,
    capacity: int,
    par_level: int = DEFAULT_PAR_LEVEL,
) -> Slot:
    """Create or update a slot. Its product can change only while it is empty; capacity never below its stock."""
    code = code.strip().upper()
    if capacity <= 0:
        raise ValidationError(_("容量は1以上にしてください。"), details={"field": "capacity"})
    if par_level > capacity:
        raise ValidationError(_("補充基準は容量以下にしてください。"), details={"field": "par_level"})
    slot, created = Slot.objects.get_or_create(
        machine=machine, code=code, defaults={"product": product, "capacity": capacity, "par_level": par_level}
    )
    if created:
        return slot
    slot = locked_slot(slot)
    if slot.product_id != (product.pk if product else None) and slot.quantity:
        raise ValidationError(
            _("スロット {slot} に在庫が{quantity}個あるため商品を変更できません。先に在庫を移してください。").format(
                slot=slot, quantity=slot.quantity
            ),
            details={"field": "product"},
        )
    if capacity < slot.quantity:
        raise ValidationError(
            _("容量を現在の在庫（{quantity}個）より少なくはできません。").format(quantity=slot.quantity),
            details={"field": "capacity"},
        )
    slot.product, slot.capacity, slot.par_level = product, capacity, par_level
    slot.save(update_fields=["product", "capacity", "par_level"])
    return slot


@transaction.atomic
def device_token_issue(*, machine: Machine, actor=None, actor_label: str = "") -> str:
    """A new device token for the machine's tablet, returned once; the previous token stops working."""
    token = secrets.token_urlsafe(32)
    machine.device_token_hash = device_token_hash(token)
    machine.save(update_fields=["device_token_hash"])
    audit_record(target=machine, action="machine.device_token_issue", actor=actor, actor_label=actor_label)
    return token


def machine_heartbeat_record(*, machine: Machine) -> Machine:
    machine.last_heartbeat_at = timezone.now()
    Machine.objects.filter(pk=machine.pk).update(last_heartbeat_at=machine.last_heartbeat_at)
    return machine


@transaction.atomic
def restock_plan(*, machine: Machine) -> list[RestockTask]:
    """Open a `RestockTask` for every slot below its par level that the back room can refill.

    Each gets min(back-room stock, capacity − quantity), shared fairly across slots of one product in slot order;
    priority is high when the slot holds fewer than 2. A slot with an open task is left alone.
    """
    storage_left = dict(StorageStock.objects.values_list("product_id", "quantity"))
    for task in RestockTask.objects.filter(slot__machine=machine, status=RestockTask.Status.OPEN):
        storage_left[task.product_id] = storage_left.get(task.product_id, 0) - task.quantity
    tasks = []
    slots = machine.slots.filter(product__isnull=False, product__active=True).exclude(
        restock_tasks__status=RestockTask.Status.OPEN
    )
    for slot in slots.order_by("code"):
        if slot.quantity >= slot.par_level:
            continue
        quantity = min(storage_left.get(slot.product_id, 0), slot.capacity - slot.quantity)
        if quantity <= 0:
            continue
        storage_left[slot.product_id] -= quantity
        priority = (
            RestockTask.Priority.HIGH if slot.quantity < RESTOCK_HIGH_PRIORITY_BELOW else RestockTask.Priority.NORMAL
        )
        tasks.append(
            RestockTask.objects.create(slot=slot, product_id=slot.product_id, quantity=quantity, priority=priority)
        )
    return tasks


@transaction.atomic
def restock_task_complete(*, task: RestockTask, actor=None, actor_label: str = "") -> RestockTask:
    """Staff filled the slot: transfer what fits and what the back room still has (at most the planned quantity)."""
    task = RestockTask.objects.select_for_update().select_related("slot", "product").get(pk=task.pk)
    if task.status != RestockTask.Status.OPEN:
        raise Conflict(_("この補充タスクはすでに{status}です。").format(status=task.get_status_display()))
    if task.slot.product_id != task.product_id:
        raise Conflict(_("スロットの商品が変わったため、このタスクは取り消してください。"))
    slot = locked_slot(task.slot)
    storage = StorageStock.objects.filter(product_id=task.product_id).first()
    quantity = min(task.quantity, slot.capacity - slot.quantity, storage.quantity if storage else 0)
    if quantity <= 0:
        raise ValidationError(_("補充できる在庫がありません（倉庫が空か、スロットが満杯です）。"))
    stock_transfer_to_slot(
        slot=slot,
        quantity=quantity,
        actor=actor,
        actor_label=actor_label,
        reason=_("補充タスク #{id}").format(id=task.pk),
    )
    task.status = RestockTask.Status.DONE
    task.transferred_quantity = quantity
    task.done_at = timezone.now()
    task.done_by = acting_user(actor)
    task.save(update_fields=["status", "transferred_quantity", "done_at", "done_by"])
    return task


@transaction.atomic
def restock_task_cancel(*, task: RestockTask, actor=None) -> RestockTask:
    task = RestockTask.objects.select_for_update().get(pk=task.pk)
    if task.status != RestockTask.Status.OPEN:
        raise Conflict(_("この補充タスクはすでに{status}です。").format(status=task.get_status_display()))
    task.status = RestockTask.Status.CANCELLED
    task.done_at = timezone.now()
    task.done_by = acting_user(actor)
    task.save(update_fields=["status", "done_at", "done_by"])
    return task
